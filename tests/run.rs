//! The core's behaviour against real processes. Each test starts its own
//! programs and looks only at their process groups, so tests may run in parallel.

mod support;

use std::time::Duration;

use gazette_runner_core::{Command, Ending, ExitStatus, Limits, Step, Stream};
use support::{alive, live_members, run, sh, timed};

const LONG: Duration = Duration::from_secs(20);

#[test]
fn captures_both_streams_and_the_exit_code() {
    let outcome = run(&sh("echo out; echo err >&2; exit 7", LONG));
    assert_eq!(outcome.stdout, b"out\n");
    assert_eq!(outcome.stderr, b"err\n");
    assert_eq!(outcome.status, ExitStatus::Exited(7));
    assert_eq!(outcome.ending, Ending::Natural);
    assert!(outcome.max_rss.unwrap_or(0) > 0);
}

#[test]
fn reports_the_signal_that_ended_the_program() {
    let outcome = run(&sh("kill -KILL $$", LONG));
    assert_eq!(outcome.status, ExitStatus::Signaled(libc::SIGKILL));
}

#[test]
fn times_out_with_sigterm_and_leaves_no_member_of_the_group() {
    let mut command = sh("sleep 100 & sleep 100", Duration::from_millis(200));
    command.kill_after(Duration::from_secs(5));
    let (outcome, took) = timed(|| run(&command));
    assert_eq!(outcome.ending, Ending::Timeout);
    assert_eq!(outcome.status, ExitStatus::Signaled(libc::SIGTERM));
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(live_members(outcome.pid).is_empty());
}

#[test]
fn escalates_to_sigkill_when_sigterm_is_ignored() {
    let mut command = sh(
        "trap '' TERM; while :; do sleep 0.05; done",
        Duration::from_millis(200),
    );
    command.kill_after(Duration::from_millis(200));
    let (outcome, took) = timed(|| run(&command));
    assert_eq!(outcome.status, ExitStatus::Signaled(libc::SIGKILL));
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn ends_leftovers_of_a_program_that_exited_normally() {
    let (outcome, took) = timed(|| run(&sh("sleep 100 & echo $!", LONG)));
    let grandchild: u32 = String::from_utf8_lossy(&outcome.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(outcome.status, ExitStatus::Exited(0));
    assert!(outcome.killed_leftovers);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(!alive(grandchild));
}

#[test]
fn stops_a_stream_at_max_output_keeping_exactly_the_cap() {
    let mut command = Command::new(["yes"], LONG).unwrap();
    command.max_output(4096);
    let outcome = run(&command);
    assert_eq!(outcome.ending, Ending::OutputLimit(Stream::Stdout));
    assert_eq!(outcome.stdout.len(), 4096);
    assert_eq!(outcome.stdout_bytes, 4096);
}

#[test]
fn feeds_stdin_while_reading_stdout() {
    let input = vec![b'z'; 5 << 20];
    let mut command = Command::new(["cat"], LONG).unwrap();
    command.stdin(input.clone());
    assert_eq!(run(&command).stdout, input);
}

#[test]
fn gives_dev_null_as_stdin_by_default() {
    let outcome = run(&Command::new(["cat"], LONG).unwrap());
    assert_eq!(outcome.status, ExitStatus::Exited(0));
    assert!(outcome.stdout.is_empty());
}

#[test]
fn applies_environment_changes_and_clearing() {
    let mut command = Command::new(["/usr/bin/env"], LONG).unwrap();
    command.clear_env(true).env("ONLY", Some("1")).unwrap();
    assert_eq!(run(&command).stdout, b"ONLY=1\n");
}

#[test]
fn sets_rlimits_on_the_limited_path() {
    let mut command = sh("ulimit -v; ulimit -t", LONG);
    command.limits(Limits {
        memory_bytes: Some(256 << 20),
        cpu_seconds: Some(9),
    });
    assert_eq!(run(&command).stdout, b"262144\n9\n");
}

#[test]
fn hands_output_over_in_pieces_when_asked() {
    let mut command = Command::new(["head", "-c", "3000000", "/dev/zero"], LONG).unwrap();
    command.flush_at(1 << 20);
    let mut execution = command.spawn().unwrap();
    let mut taken = 0;
    let mut pieces = 0;
    let outcome = loop {
        match execution.wait() {
            Step::Output => {
                taken += execution.take_output(Stream::Stdout).len();
                pieces += 1;
            }
            Step::Woken => {}
            Step::Finished(outcome) => break outcome,
        }
    };
    assert!(pieces >= 1);
    assert_eq!(taken + outcome.stdout.len(), 3_000_000);
    assert_eq!(outcome.stdout_bytes, 3_000_000);
}

#[test]
fn a_waker_interrupts_the_wait_and_interrupt_ends_the_group() {
    let mut execution = sh("trap '' TERM; sleep 100", LONG).spawn().unwrap();
    let waker = execution.waker();
    let pid = execution.pid();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        waker.wake();
    });
    assert!(matches!(execution.wait(), Step::Woken));
    thread.join().unwrap();
    execution.interrupt();
    let (step, took) = timed(|| execution.wait());
    let Step::Finished(outcome) = step else {
        panic!("expected the end")
    };
    assert_eq!(outcome.ending, Ending::Interrupted);
    assert!(
        took < Duration::from_secs(3),
        "interrupt must kill within about a second, took {took:?}"
    );
    assert!(live_members(pid).is_empty());
}

#[test]
fn dropping_an_unfinished_execution_kills_and_reaps_it() {
    let execution = sh("sleep 100", LONG).spawn().unwrap();
    let pid = execution.pid();
    drop(execution);
    assert!(!alive(pid));
}

#[test]
fn spawn_errors_name_the_step_and_the_errno() {
    let missing = Command::new(["gazette-no-such-program"], LONG)
        .unwrap()
        .spawn()
        .unwrap_err();
    assert_eq!(missing.errno(), Some(libc::ENOENT));
    let mut bad_dir = Command::new(["true"], LONG).unwrap();
    bad_dir.cwd("/gazette/missing").unwrap();
    let error = bad_dir.spawn().unwrap_err();
    assert_eq!((error.step, error.errno()), ("chdir", Some(libc::ENOENT)));
}

#[test]
fn rejects_unusable_commands() {
    assert!(Command::new(Vec::<String>::new(), LONG).is_err());
    assert!(Command::new(["a\0b"], LONG).is_err());
    assert!(Command::new(["true"], Duration::ZERO).is_err());
    assert!(Command::new(["true"], LONG)
        .unwrap()
        .env("A=B", Some("1"))
        .is_err());
}

#[test]
fn keeps_the_latest_progress_report_and_hands_over_each_one() {
    let mut command = sh(
        "echo 'PROGRESS 10 page 1' >&2; echo noise >&2; sleep 0.05; printf 'PROGRESS 90 last' >&2",
        LONG,
    );
    command.flush_at(1 << 20).wake_on_progress(true);
    let mut execution = command.spawn().unwrap();
    let mut reports = Vec::new();
    let outcome = loop {
        match execution.wait() {
            Step::Finished(outcome) => break outcome,
            _ => reports.extend(execution.take_progress()),
        }
    };
    reports.extend(execution.take_progress());
    let percents: Vec<u16> = reports.iter().map(|p| p.percent).collect();
    assert_eq!(percents, [10, 90]);
    let latest = outcome.progress.expect("a progress report");
    assert_eq!(
        (latest.percent, latest.message.as_deref()),
        (90, Some("last"))
    );
}

#[test]
fn keeps_only_the_latest_report_unless_asked_to_wake_on_each() {
    let command = sh(
        "echo 'PROGRESS 10 page 1' >&2; echo 'PROGRESS 20 page 2' >&2; sleep 0.3",
        LONG,
    );
    let mut execution = command.spawn().unwrap();
    let latest = execution.latest_progress();
    let outcome = match execution.wait() {
        Step::Finished(outcome) => outcome,
        step => panic!("woke for {step:?} without being asked to"),
    };
    assert!(execution.take_progress().is_empty());
    assert_eq!(latest.get().map(|p| p.percent), Some(20));
    assert_eq!(outcome.progress.map(|p| p.percent), Some(20));
}

#[test]
fn wait_at_most_zero_does_what_is_ready_without_blocking() {
    let mut execution = sh("sleep 100", LONG).spawn().unwrap();
    let (step, took) = timed(|| execution.wait_at_most(Duration::ZERO));
    assert!(matches!(step, Step::Woken));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    execution.interrupt();
    while !matches!(execution.wait(), Step::Finished(_)) {}
}
