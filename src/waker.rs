//! Waking a waiting [`crate::Execution`] from another thread (Ruby's unblock function).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

/// A handle that interrupts [`crate::Execution::wait`], which then returns
/// [`crate::Step::Woken`]. Cheap to clone; safe to use from any thread and after
/// the execution has ended.
#[derive(Debug, Clone)]
pub struct Waker {
    eventfd: Arc<OwnedFd>,
}

impl Waker {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: eventfd returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is new and ours.
        let eventfd = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(Self { eventfd })
    }

    /// Makes the current or next `wait` return [`crate::Step::Woken`].
    /// Async-signal-safe: it is one `write(2)`.
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from `one`; a full counter (EAGAIN) already means "woken".
        unsafe { libc::write(self.eventfd.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.eventfd
    }

    /// Clears pending wake-ups.
    pub(crate) fn reset(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into `count`; EAGAIN means nothing was pending.
        unsafe { libc::read(self.eventfd.as_raw_fd(), (&raw mut count).cast(), 8) };
    }
}
