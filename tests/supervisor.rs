//! The bound holds while nobody waits: the process-wide supervisor thread
//! ends the group on time even when the caller does not call `wait` (in the
//! gem: its thread is running Ruby, or waiting for Ruby's GVL).

mod support;

use std::thread::sleep;
use std::time::Duration;

use gazette_runner_core::{Ending, ExitStatus, Step};
use support::{alive, live_members, sh};

fn finish(mut execution: gazette_runner_core::Execution) -> gazette_runner_core::Outcome {
    loop {
        if let Step::Finished(outcome) = execution.wait() {
            return *outcome;
        }
    }
}

#[test]
fn terminates_at_the_deadline_without_a_waiting_caller() {
    let mut command = sh("sleep 100 & sleep 100", Duration::from_millis(300));
    command.kill_after(Duration::from_secs(5));
    let execution = command.spawn().expect("spawned");
    let pid = execution.pid();
    sleep(Duration::from_millis(1200)); // nobody calls wait meanwhile
    assert!(!alive(pid), "the program outlived its bound");
    assert!(live_members(pid).is_empty(), "its group outlived the bound");
    let outcome = finish(execution);
    assert_eq!(outcome.ending, Ending::Timeout);
    assert_eq!(outcome.status, ExitStatus::Signaled(libc::SIGTERM));
    let terminated = outcome.signals.terminated_at.expect("SIGTERM sent");
    assert!(
        terminated >= Duration::from_millis(300) && terminated < Duration::from_millis(400),
        "SIGTERM at {terminated:?}"
    );
    assert_eq!(outcome.signals.killed_at, None);
}

#[test]
fn kills_after_the_grace_without_a_waiting_caller() {
    let mut command = sh(
        "trap '' TERM; while :; do sleep 0.05; done",
        Duration::from_millis(200),
    );
    command.kill_after(Duration::from_millis(200));
    let execution = command.spawn().expect("spawned");
    let pid = execution.pid();
    sleep(Duration::from_secs(1));
    assert!(!alive(pid), "SIGKILL did not land without a waiting caller");
    let outcome = finish(execution);
    assert_eq!(outcome.status, ExitStatus::Signaled(libc::SIGKILL));
    let killed = outcome.signals.killed_at.expect("SIGKILL sent");
    assert!(
        killed >= Duration::from_millis(400) && killed < Duration::from_millis(500),
        "SIGKILL at {killed:?}"
    );
}

#[test]
fn a_program_that_exited_before_the_deadline_is_no_timeout() {
    // The leader exits at once; a member it left behind runs on. The caller
    // looks only after the deadline: that is killed leftovers, not a timeout.
    let mut command = sh("sleep 100 & exit 0", Duration::from_millis(200));
    command.kill_after(Duration::from_millis(100));
    let execution = command.spawn().expect("spawned");
    let pid = execution.pid();
    sleep(Duration::from_millis(800));
    assert!(live_members(pid).is_empty(), "leftovers outlived the bound");
    let outcome = finish(execution);
    assert_eq!(outcome.status, ExitStatus::Exited(0));
    assert_eq!(outcome.ending, Ending::Natural);
    assert!(outcome.killed_leftovers);
}

#[test]
fn a_run_far_in_the_future_is_bounded_by_saturation_not_a_panic() {
    let command = sh("exit 3", Duration::MAX);
    let outcome = finish(command.spawn().expect("spawned"));
    assert_eq!(outcome.status, ExitStatus::Exited(3));
}

#[test]
fn a_forked_child_supervises_its_own_runs() {
    // Start the parent's supervisor, then fork: the child has no supervisor
    // thread (threads do not survive fork) and must make its own.
    let warm = sh("true", Duration::from_secs(5));
    drop(finish(warm.spawn().expect("spawned")));
    // SAFETY: the child only spawns, waits and exits; no locks of the parent are taken.
    let child = unsafe { libc::fork() };
    if child == 0 {
        let mut command = sh("sleep 100", Duration::from_millis(200));
        command.kill_after(Duration::from_millis(100));
        let execution = command.spawn().expect("spawned");
        let pid = execution.pid();
        sleep(Duration::from_millis(700));
        let code = i32::from(alive(pid));
        drop(execution);
        // SAFETY: leaves the forked child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for our own forked child.
    unsafe { libc::waitpid(child, &raw mut status, 0) };
    assert!(libc::WIFEXITED(status), "status {status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "the child's run outlived its bound"
    );
}

#[test]
fn a_program_that_ended_in_time_is_left_alone_at_the_deadline() {
    let mut command = sh("exit 0", Duration::from_millis(200));
    command.kill_after(Duration::from_millis(100));
    let execution = command.spawn().expect("spawned");
    sleep(Duration::from_millis(500)); // the caller comes back after the deadline
    let outcome = finish(execution);
    assert_eq!(outcome.ending, Ending::Natural);
    assert!(!outcome.killed_leftovers);
    assert_eq!(outcome.signals.terminated_at, None);
}
