//! Kill escalation: `SIGTERM` (with `SIGCONT`) to the group, then `SIGKILL`
//! after the grace, then a last bounded wait for the kernel to finish the job.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use crate::group;

/// How long to wait after `SIGKILL` for the group to disappear before giving up
/// on it (only a process in uninterruptible sleep survives that long).
pub const SETTLE_AFTER_KILL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Terminating { kill_at: Instant },
    Killed { give_up_at: Instant },
}

#[derive(Debug)]
pub(crate) struct Escalation {
    pgid: i32,
    phase: Phase,
}

impl Escalation {
    pub(crate) fn new(pgid: i32) -> Self {
        Self {
            pgid,
            phase: Phase::Idle,
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// Starts ending the group: `SIGTERM` now, `SIGKILL` once `grace` has passed.
    /// `kill_by` caps when `SIGKILL` goes out whatever the grace.
    pub(crate) fn begin(
        &mut self,
        leader: Option<BorrowedFd<'_>>,
        now: Instant,
        grace: Duration,
        kill_by: Instant,
    ) {
        if self.is_active() {
            return;
        }
        group::signal(self.pgid, leader, libc::SIGTERM);
        group::signal(self.pgid, leader, libc::SIGCONT);
        self.phase = Phase::Terminating {
            kill_at: (now + grace).min(kill_by.max(now)),
        };
    }

    /// Brings `SIGKILL` forward to at most `grace` from now (an interrupted caller cannot wait long).
    pub(crate) fn hurry(&mut self, now: Instant, grace: Duration) {
        if let Phase::Terminating { kill_at } = &mut self.phase {
            *kill_at = (*kill_at).min(now + grace);
        }
    }

    /// Sends `SIGKILL` when its time has come.
    pub(crate) fn on_timer(&mut self, leader: Option<BorrowedFd<'_>>, now: Instant) {
        if let Phase::Terminating { kill_at } = self.phase {
            if now >= kill_at {
                group::signal(self.pgid, leader, libc::SIGKILL);
                self.phase = Phase::Killed {
                    give_up_at: now + SETTLE_AFTER_KILL,
                };
            }
        }
    }

    /// When `on_timer` next has something to do.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        match self.phase {
            Phase::Idle => None,
            Phase::Terminating { kill_at } => Some(kill_at),
            Phase::Killed { give_up_at } => Some(give_up_at),
        }
    }

    /// True once `SIGKILL` went out and the settle time has passed too.
    pub(crate) fn gave_up(&self, now: Instant) -> bool {
        matches!(self.phase, Phase::Killed { give_up_at } if now >= give_up_at)
    }
}
