//! One `poll(2)` over a waker and the descriptors of one or many executions.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

/// What one execution may wait for; each slot is `None` when not wanted this round.
pub(crate) struct Interest<'a> {
    pub exit: Option<&'a OwnedFd>,
    pub stdout: Option<&'a OwnedFd>,
    pub stderr: Option<&'a OwnedFd>,
    pub stdin: Option<&'a OwnedFd>,
}

/// Which of one execution's wanted descriptors are ready (readable, writable, hung up or in error).
#[derive(Debug, Default, Clone, Copy)]
// One flag per descriptor of `Interest`, each set independently by `poll(2)`: no state machine here.
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct Ready {
    pub exit: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub stdin: bool,
}

impl Ready {
    fn mark(&mut self, slot: usize) {
        match slot {
            0 => self.exit = true,
            1 => self.stdout = true,
            2 => self.stderr = true,
            _ => self.stdin = true,
        }
    }
}

/// What one round of [`wait`] found.
pub(crate) struct Round {
    /// The waker was used.
    pub woken: bool,
    /// One entry per interest, in the same order.
    pub ready: Vec<Ready>,
}

/// Waits until `waker` or any descriptor of `interests` is ready, or `timeout`
/// has passed (`None`: no limit).
pub(crate) fn wait(
    waker: &OwnedFd,
    interests: &[Interest<'_>],
    timeout: Option<Duration>,
) -> Round {
    let mut fds = Vec::with_capacity(1 + 4 * interests.len());
    // For each descriptor after the waker: which interest, and which of its slots.
    let mut owners = Vec::with_capacity(4 * interests.len());
    fds.push(pollfd(waker, libc::POLLIN));
    for (index, interest) in interests.iter().enumerate() {
        let slots = [
            interest.exit.map(|fd| (fd, libc::POLLIN)),
            interest.stdout.map(|fd| (fd, libc::POLLIN)),
            interest.stderr.map(|fd| (fd, libc::POLLIN)),
            interest.stdin.map(|fd| (fd, libc::POLLOUT)),
        ];
        for (slot, wanted) in slots.into_iter().enumerate() {
            if let Some((fd, events)) = wanted {
                fds.push(pollfd(fd, events));
                owners.push((index, slot));
            }
        }
    }
    let mut round = Round {
        woken: false,
        ready: vec![Ready::default(); interests.len()],
    };
    if wait_on(&mut fds, timeout) <= 0 {
        return round; // timeout or EINTR: the caller re-checks its timers.
    }
    round.woken = fds[0].revents != 0;
    for (fd, &(index, slot)) in fds[1..].iter().zip(&owners) {
        if fd.revents != 0 {
            round.ready[index].mark(slot);
        }
    }
    round
}

/// True when `fd` became readable (or hung up) within `timeout`.
pub(crate) fn readable(fd: &OwnedFd, timeout: Duration) -> bool {
    let mut fds = [pollfd(fd, libc::POLLIN)];
    wait_on(&mut fds, Some(timeout)) > 0 && fds[0].revents != 0
}

fn pollfd(fd: &OwnedFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    }
}

fn wait_on(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> i32 {
    let millis = timeout.map_or(-1, |t| {
        // Round up so the loop never spins on a sub-millisecond remainder.
        i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) }
}
