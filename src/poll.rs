//! One `poll(2)` over the descriptors the loop waits on.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

/// What the loop may wait for; each slot is `None` when not wanted this round.
pub(crate) struct Interest<'a> {
    pub waker: &'a OwnedFd,
    pub exit: Option<&'a OwnedFd>,
    pub stdout: Option<&'a OwnedFd>,
    pub stderr: Option<&'a OwnedFd>,
    pub stdin: Option<&'a OwnedFd>,
}

/// Which of the wanted descriptors are ready (readable, writable, hung up or in error).
#[derive(Debug, Default)]
// One flag per descriptor of `Interest`, each set independently by `poll(2)`: no state machine here.
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct Ready {
    pub waker: bool,
    pub exit: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub stdin: bool,
}

pub(crate) fn wait(interest: &Interest<'_>, timeout: Option<Duration>) -> Ready {
    let slots = [
        Some((interest.waker, libc::POLLIN)),
        interest.exit.map(|fd| (fd, libc::POLLIN)),
        interest.stdout.map(|fd| (fd, libc::POLLIN)),
        interest.stderr.map(|fd| (fd, libc::POLLIN)),
        interest.stdin.map(|fd| (fd, libc::POLLOUT)),
    ];
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(slots.len());
    let mut owners = [usize::MAX; 5];
    for (slot, wanted) in slots.iter().enumerate() {
        if let Some((fd, events)) = wanted {
            owners[slot] = fds.len();
            fds.push(libc::pollfd {
                fd: fd.as_raw_fd(),
                events: *events,
                revents: 0,
            });
        }
    }
    let millis = timeout.map_or(-1, |t| {
        // Round up so the loop never spins on a sub-millisecond remainder.
        i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
    let mut ready = Ready::default();
    if n <= 0 {
        return ready; // timeout or EINTR: the caller re-checks its timers.
    }
    let hit = |slot: usize| owners[slot] != usize::MAX && fds[owners[slot]].revents != 0;
    ready.waker = hit(0);
    ready.exit = hit(1);
    ready.stdout = hit(2);
    ready.stderr = hit(3);
    ready.stdin = hit(4);
    ready
}
