//! Pipe descriptors between the supervisor and the program, and non-blocking I/O on them.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Pipes the program writes to are grown to this size (when the kernel allows)
/// so that large outputs cross in fewer reads and context switches.
const OUTPUT_PIPE_SIZE: libc::c_int = 1 << 20;

/// A fresh close-on-exec pipe `(read, write)` whose ends are both above 2, so
/// that moving them onto 0, 1 and 2 in the program never clobbers one another.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and ours alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((above_stdio(read)?, above_stdio(write)?))
}

fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on an open descriptor returns a new one or -1.
    let moved = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if moved < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `moved` is a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// Grows an output pipe; a refusal (size over the system's maximum) only costs speed.
pub(crate) fn grow(fd: &OwnedFd) {
    // SAFETY: F_SETPIPE_SZ only changes the pipe's capacity.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, OUTPUT_PIPE_SIZE) };
}

pub(crate) fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on an open descriptor.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// What one non-blocking read or write did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Transfer {
    Bytes(usize),
    WouldBlock,
    Closed,
}

/// Reads at most `max` bytes, appending them to `buf`.
pub(crate) fn read_append(fd: &OwnedFd, buf: &mut Vec<u8>, max: usize) -> io::Result<Transfer> {
    // Small outputs stay small; large ones grow the buffer geometrically.
    buf.reserve(max.min(buf.capacity().max(64 << 10)));
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(max);
    loop {
        // SAFETY: the kernel writes at most `len` bytes into the spare capacity.
        let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), len) };
        match n {
            0 => return Ok(Transfer::Closed),
            n if n > 0 => {
                let n = n.unsigned_abs();
                // SAFETY: read initialised the first `n` spare bytes.
                unsafe { buf.set_len(buf.len() + n) };
                return Ok(Transfer::Bytes(n));
            }
            _ => match io::Error::last_os_error() {
                e if e.kind() == io::ErrorKind::Interrupted => {}
                e if e.kind() == io::ErrorKind::WouldBlock => return Ok(Transfer::WouldBlock),
                e => return Err(e),
            },
        }
    }
}

/// Writes what the pipe takes now of `bytes`.
pub(crate) fn write_some(fd: &OwnedFd, bytes: &[u8]) -> Transfer {
    loop {
        // SAFETY: the kernel reads at most `bytes.len()` bytes from `bytes`.
        let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            return Transfer::Bytes(n.unsigned_abs());
        }
        match io::Error::last_os_error().kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => return Transfer::WouldBlock,
            // EPIPE and the rest: the program will not read any more.
            _ => return Transfer::Closed,
        }
    }
}
