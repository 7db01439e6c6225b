//! The program's process group: signalling it and telling whether anything in it still runs.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Sends `signal` to every member of group `pgid`, and to the leader through its
/// pidfd as well, in case it moved itself to another group.
pub(crate) fn signal(pgid: i32, leader: Option<BorrowedFd<'_>>, signal: i32) {
    // SAFETY: kill with a negative pid signals a process group; errors (ESRCH) are fine.
    unsafe { libc::kill(-pgid, signal) };
    if let Some(pidfd) = leader {
        // SAFETY: pidfd_send_signal takes a pidfd, a signal, no siginfo and no flags.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
    }
}

/// True when any process, zombies included, still belongs to group `pgid`.
/// One system call: the fast path after a program that left nothing behind.
pub(crate) fn exists(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// True when a member of group `pgid` is alive, i.e. not a zombie waiting for
/// its parent (often PID 1, which may take seconds) to reap it. Reads `/proc`,
/// so it is only asked when [`exists`] said yes.
// `pid` beside `pgid`: the POSIX names for a process and its group.
#[allow(clippy::similar_names)]
pub(crate) fn has_live_members(pgid: i32) -> bool {
    if !exists(pgid) {
        return false;
    }
    let Ok(entries) = fs::read_dir("/proc") else {
        return true; // without /proc, a zombie cannot be told from the living
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            return false;
        };
        fs::read(format!("/proc/{pid}/stat")).is_ok_and(|stat| is_live_member(&stat, pgid))
    })
}

/// Parses `/proc/PID/stat`: `pid (comm) state ppid pgrp ...`; comm may hold
/// spaces and parentheses, so fields are counted from the last `)`.
fn is_live_member(stat: &[u8], pgid: i32) -> bool {
    let Some(close) = stat.iter().rposition(|&b| b == b')') else {
        return false;
    };
    let rest = String::from_utf8_lossy(&stat[close + 1..]);
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next();
    let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
    pgrp == Some(pgid) && !matches!(state, Some("Z" | "X" | "x"))
}

#[cfg(test)]
mod tests {
    use super::is_live_member;

    #[test]
    fn reads_state_and_group_after_a_tricky_command_name() {
        let stat = b"42 (a) b (c)) S 1 77 77 0 -1";
        assert!(is_live_member(stat, 77));
        assert!(!is_live_member(stat, 78));
        assert!(!is_live_member(b"42 (zombie) Z 1 77 77", 77));
    }
}
