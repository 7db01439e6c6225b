//! One group's bound and kill escalation: armed until the deadline, then
//! `SIGTERM` (with `SIGCONT`) to the group, `SIGKILL` after the grace, then a
//! last bounded wait for the kernel to finish the job.
//!
//! The state lives in one place, shared by the [`crate::Execution`] that runs
//! the group and by the process-wide [`crate::supervisor`] thread; whichever of
//! the two looks first when a timer is due acts on it, under one lock, so each
//! signal goes out once and on time even while the calling thread is away
//! (running Ruby, or waiting for Ruby's GVL).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::group;

/// How long to wait after `SIGKILL` for the group to disappear before giving up
/// on it (only a process in uninterruptible sleep survives that long).
pub const SETTLE_AFTER_KILL: Duration = Duration::from_secs(2);

/// `at + by`, saturating instead of panicking on a bound too far away to represent.
pub(crate) fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .or_else(|| at.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(at)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Running within its bound; nothing sent yet.
    Armed,
    Terminating {
        kill_at: Instant,
    },
    Killed {
        give_up_at: Instant,
    },
    /// The group is gone and reaped: no timer may signal its ids again.
    Settled,
}

/// Why the group is being ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The deadline passed; `leader_alive` tells whether the program itself
    /// still ran then (a timeout) or only what it left behind (leftovers).
    Deadline { leader_alive: bool },
    /// The execution asked for it: output limit, interruption, leftovers after exit.
    Requested,
}

/// When signals went out, measured from the start of the program.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// When `SIGTERM` was sent to the group.
    pub terminated_at: Option<Duration>,
    /// When `SIGKILL` was sent to the group.
    pub killed_at: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct Escalation {
    pgid: i32,
    /// The supervisor's own duplicate of the program's pidfd: it reaches the
    /// leader even if it left the group, and cannot be reused by another process.
    leader: Option<OwnedFd>,
    started: Instant,
    deadline: Instant,
    kill_after: Duration,
    phase: Phase,
    cause: Option<Cause>,
    leader_reaped: bool,
    signals: Signals,
}

impl Escalation {
    pub(crate) fn new(
        pgid: i32,
        leader: Option<OwnedFd>,
        started: Instant,
        timeout: Duration,
        kill_after: Duration,
    ) -> Self {
        Self {
            pgid,
            leader,
            started,
            deadline: later(started, timeout),
            kill_after,
            phase: Phase::Armed,
            cause: None,
            leader_reaped: false,
            signals: Signals::default(),
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the group is being ended (or was).
    pub(crate) fn is_active(&self) -> bool {
        matches!(self.phase, Phase::Terminating { .. } | Phase::Killed { .. })
    }

    pub(crate) fn cause(&self) -> Option<Cause> {
        self.cause
    }

    pub(crate) fn signals(&self) -> Signals {
        self.signals
    }

    fn signal(&self, signal: i32) {
        group::signal(self.pgid, self.leader.as_ref().map(AsFd::as_fd), signal);
    }

    fn since_start(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    fn terminate(&mut self, now: Instant, kill_at: Instant, cause: Cause) {
        self.signal(libc::SIGTERM);
        self.signal(libc::SIGCONT);
        self.signals.terminated_at = Some(self.since_start(now));
        self.phase = Phase::Terminating { kill_at };
        self.cause = Some(cause);
    }

    /// Starts ending the group now, with `SIGKILL` once `grace` has passed;
    /// `kill_by` caps when `SIGKILL` goes out whatever the grace. Returns true
    /// when this started it (false when it was already being ended, or settled).
    pub(crate) fn request(&mut self, now: Instant, grace: Duration, kill_by: Instant) -> bool {
        if self.phase != Phase::Armed {
            return false;
        }
        let kill_at = later(now, grace).min(kill_by.max(now));
        self.terminate(now, kill_at, Cause::Requested);
        true
    }

    /// Brings `SIGKILL` forward to at most `grace` from now (an interrupted caller cannot wait long).
    pub(crate) fn hurry(&mut self, now: Instant, grace: Duration) {
        if let Phase::Terminating { kill_at } = &mut self.phase {
            *kill_at = (*kill_at).min(later(now, grace));
        }
    }

    /// Does what is due at `now`: `SIGTERM` at the deadline, `SIGKILL` after the grace.
    pub(crate) fn tick(&mut self, now: Instant) {
        match self.phase {
            Phase::Armed if now >= self.deadline => {
                let leader_alive = !self.leader_reaped && self.leader_running();
                if !leader_alive && !group::has_live_members(self.pgid) {
                    // The program ended in time and left nothing behind; its
                    // caller has just not reaped it yet. Nothing to end.
                    self.phase = Phase::Settled;
                    return;
                }
                let kill_at = later(self.deadline, self.kill_after).max(now);
                self.terminate(now, kill_at, Cause::Deadline { leader_alive });
            }
            Phase::Terminating { kill_at } if now >= kill_at => {
                self.signal(libc::SIGKILL);
                self.signals.killed_at = Some(self.since_start(now));
                self.phase = Phase::Killed {
                    give_up_at: later(now, SETTLE_AFTER_KILL),
                };
            }
            _ => {}
        }
    }

    /// The execution reaped the program: its pidfd says nothing more.
    pub(crate) fn leader_reaped(&mut self) {
        self.leader_reaped = true;
    }

    /// The group is gone: nothing may be signalled any more.
    pub(crate) fn settle(&mut self) {
        self.phase = Phase::Settled;
    }

    /// `SIGKILL` at once, for an exiting host; false when the group is already settled.
    pub(crate) fn kill_now(&mut self) -> bool {
        if self.phase == Phase::Settled {
            return false;
        }
        self.signal(libc::SIGKILL);
        true
    }

    /// When [`Escalation::tick`] next has something to do.
    pub(crate) fn next_timer(&self) -> Option<Instant> {
        match self.phase {
            Phase::Armed => Some(self.deadline),
            Phase::Terminating { kill_at } => Some(kill_at),
            Phase::Killed { give_up_at } => Some(give_up_at),
            Phase::Settled => None,
        }
    }

    /// True once `SIGKILL` went out and the settle time has passed too.
    pub(crate) fn gave_up(&self, now: Instant) -> bool {
        matches!(self.phase, Phase::Killed { give_up_at } if now >= give_up_at)
    }

    /// Whether the program has not exited yet, asked without reaping it
    /// (`WNOWAIT`), so a deadline that finds only leftovers is not called a timeout.
    fn leader_running(&self) -> bool {
        let Some(pidfd) = &self.leader else {
            return true;
        };
        // SAFETY: siginfo_t is plain data the kernel fills in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid with WNOWAIT only reads the state of our own child.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_waitid,
                libc::P_PIDFD,
                pidfd.as_raw_fd(),
                &raw mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                std::ptr::null_mut::<libc::rusage>(),
            )
        };
        // SAFETY: after a successful waitid the SIGCHLD fields are the valid union member.
        rc == 0 && unsafe { info.si_pid() } == 0
    }
}
