//! Many programs on one loop: each keeps its own bound, output and outcome;
//! one `poll` serves them all, and nothing outlives the batch.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gazette_runner_core::{Batch, BatchStep, Ending, ExitStatus, Outcome, Stream};
use support::{alive, live_members, sh};

const LONG: Duration = Duration::from_secs(20);

/// Waits (at most 30 s) until every member finished; outcomes by key.
fn finish_all(batch: &mut Batch) -> HashMap<u64, Outcome> {
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut outcomes = HashMap::new();
    while !batch.is_empty() {
        assert!(Instant::now() < give_up, "the batch did not finish");
        match batch.wait(Some(give_up)) {
            BatchStep::Finished(key, outcome, _) => {
                outcomes.insert(key, *outcome);
            }
            BatchStep::Output(key) => {
                let member = batch.get_mut(key).unwrap();
                member.take_output(Stream::Stdout);
                member.take_output(Stream::Stderr);
            }
            BatchStep::Woken => {}
        }
    }
    outcomes
}

#[test]
fn members_run_at_once_and_each_keeps_its_own_outcome() {
    let mut batch = Batch::new().unwrap();
    let mut pids = Vec::new();
    for key in 0..5 {
        let execution = sh(&format!("echo member {key}; sleep 0.3; exit {key}"), LONG)
            .spawn()
            .unwrap();
        pids.push(execution.pid());
        batch.add(key, execution);
    }
    // Started one after the other and none waited for: all five run together.
    assert!(pids.iter().all(|&pid| alive(pid)));
    let outcomes = finish_all(&mut batch);
    for key in 0..5u64 {
        let outcome = &outcomes[&key];
        assert_eq!(outcome.stdout, format!("member {key}\n").into_bytes());
        assert_eq!(
            outcome.status,
            ExitStatus::Exited(i32::try_from(key).unwrap())
        );
        assert_eq!(outcome.pid, pids[usize::try_from(key).unwrap()]);
    }
}

#[test]
fn a_member_past_its_bound_is_ended_while_the_others_go_on() {
    let mut batch = Batch::new().unwrap();
    let hung = sh("sleep 30", Duration::from_millis(200)).spawn().unwrap();
    let hung_pid = hung.pid();
    batch.add(1, hung);
    batch.add(2, sh("sleep 0.6; echo done", LONG).spawn().unwrap());
    let outcomes = finish_all(&mut batch);
    assert_eq!(outcomes[&1].ending, Ending::Timeout);
    assert_eq!(outcomes[&1].status, ExitStatus::Signaled(libc::SIGTERM));
    assert!(live_members(hung_pid).is_empty());
    assert_eq!(outcomes[&2].ending, Ending::Natural);
    assert_eq!(outcomes[&2].stdout, b"done\n");
}

#[test]
fn a_cancelled_member_gets_sigterm_then_sigkill_after_its_grace() {
    let mut batch = Batch::new().unwrap();
    let mut stubborn = sh("trap '' TERM; echo ready; sleep 30", LONG);
    stubborn.kill_after(Duration::from_millis(300));
    let execution = stubborn.spawn().unwrap();
    let pid = execution.pid();
    batch.add(7, execution);
    batch.add(8, sh("sleep 30", LONG).spawn().unwrap());
    std::thread::sleep(Duration::from_millis(100)); // let the trap be set
    batch.get_mut(7).unwrap().cancel();
    batch.get_mut(8).unwrap().cancel();
    let outcomes = finish_all(&mut batch);
    assert_eq!(outcomes[&7].ending, Ending::Interrupted);
    assert_eq!(outcomes[&7].status, ExitStatus::Signaled(libc::SIGKILL));
    let killed_at = outcomes[&7].signals.killed_at.unwrap();
    let terminated_at = outcomes[&7].signals.terminated_at.unwrap();
    assert!(killed_at.checked_sub(terminated_at).unwrap() >= Duration::from_millis(290));
    assert_eq!(outcomes[&8].status, ExitStatus::Signaled(libc::SIGTERM));
    assert!(live_members(pid).is_empty());
}

#[test]
fn the_waker_and_the_limit_end_a_wait() {
    let mut batch = Batch::new().unwrap();
    batch.add(1, sh("sleep 30", LONG).spawn().unwrap());
    let waker = batch.waker();
    let waking = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        waker.wake();
    });
    assert!(matches!(batch.wait(None), BatchStep::Woken));
    waking.join().unwrap();
    let limit = Instant::now() + Duration::from_millis(50);
    assert!(matches!(batch.wait(Some(limit)), BatchStep::Woken));
    assert!(Instant::now() >= limit);
    batch.interrupt_all();
    let outcomes = finish_all(&mut batch);
    assert_eq!(outcomes[&1].ending, Ending::Interrupted);
}

#[test]
fn an_empty_batch_does_not_wait() {
    let mut batch = Batch::new().unwrap();
    assert!(matches!(batch.wait(None), BatchStep::Woken));
}

#[test]
fn dropping_a_batch_kills_and_reaps_every_member() {
    let mut batch = Batch::new().unwrap();
    let mut pids = Vec::new();
    for key in 0..3 {
        let execution = sh("sleep 30 & sleep 30", LONG).spawn().unwrap();
        pids.push(execution.pid());
        batch.add(key, execution);
    }
    drop(batch);
    for pid in pids {
        assert!(!alive(pid), "{pid} is left");
        assert!(live_members(pid).is_empty(), "{pid}'s group is left");
    }
}

#[test]
fn output_is_handed_over_per_member() {
    let mut batch = Batch::new().unwrap();
    let mut chatty = sh("echo first; sleep 0.2; echo second", LONG);
    chatty.flush_at(1);
    batch.add(1, chatty.spawn().unwrap());
    batch.add(2, sh("echo quiet", LONG).spawn().unwrap());
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut handed_over = Vec::new();
    let mut outcomes = HashMap::new();
    while !batch.is_empty() && Instant::now() < give_up {
        match batch.wait(Some(give_up)) {
            BatchStep::Output(key) => {
                assert_eq!(key, 1, "only the member that asked hands output over");
                handed_over.extend(batch.get_mut(key).unwrap().take_output(Stream::Stdout));
            }
            BatchStep::Finished(key, outcome, _) => {
                outcomes.insert(key, outcome);
            }
            BatchStep::Woken => {}
        }
    }
    handed_over.extend(&outcomes[&1].stdout);
    assert_eq!(handed_over, b"first\nsecond\n");
    assert_eq!(outcomes[&1].stdout_bytes, 13);
    assert_eq!(outcomes[&2].stdout, b"quiet\n");
}
