//! A forked child (a preloading app server's worker) starts from its parent's
//! breakers. Alone in its test binary: no other thread may hold the table's
//! lock at the fork, or the child would rightly start afresh.

use gazette_runner_core::breaker::{admit, record, snapshot, Admission, State};
use std::time::{Duration, Instant};

#[test]
fn a_forked_child_inherits_open_breakers_probes_for_itself_and_keeps_its_own_state() {
    let name = "fork-inherits";
    assert_eq!(admit(name, 1, Duration::from_secs(60)), Admission::Allowed);
    record(name, false, false);
    assert_eq!(snapshot(name).state, State::Open);
    // A probe in flight in the parent at the fork: the child must not wait for
    // its answer, which will only ever reach the parent.
    let probing = "fork-probing";
    assert_eq!(admit(probing, 1, Duration::ZERO), Admission::Allowed);
    record(probing, false, false);
    assert_eq!(admit(probing, 1, Duration::ZERO), Admission::Probe);

    // SAFETY: the child only touches the breaker table and calls _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let inherited = snapshot(name).state == State::Open;
        let probes_itself = snapshot(probing).state == State::Open
            && admit(probing, 1, Duration::ZERO) == Admission::Probe;
        gazette_runner_core::breaker::reset(name);
        let own = snapshot(name).state == State::Closed;
        let code = if inherited && own && probes_itself {
            libc::EXIT_SUCCESS
        } else {
            libc::EXIT_FAILURE
        };
        // SAFETY: _exit skips the harness's exit work, which belongs to the parent.
        unsafe { libc::_exit(code) }
    }

    let started = Instant::now();
    let mut status = 0;
    loop {
        // SAFETY: pid is our child; status is a valid out-pointer.
        if unsafe { libc::waitpid(pid, &raw mut status, libc::WNOHANG) } != 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(10) {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the forked child did not finish within 10 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    assert_eq!(
        snapshot(name).state,
        State::Open,
        "the child's reset stays in the child"
    );
}
