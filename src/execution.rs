//! The wait/read loop: one `poll` over the program's pidfd, its pipes and a
//! waker, driving the kill escalation until the program and its group are gone.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::capture::{self, Capture};
use crate::command::Command;
use crate::error::SpawnError;
use crate::escalation::{later, Cause, Escalation, SETTLE_AFTER_KILL};
use crate::group;
use crate::outcome::{Ending, ExitStatus, Outcome, Stream};
use crate::pipes::{self, Transfer};
use crate::poll::{self, Interest, Ready};
use crate::progress::{LatestProgress, Progress, ProgressWatch};
use crate::spawn;
use crate::supervisor::{self, Supervised};
use crate::waker::Waker;

/// An interrupted caller cannot wait long (Sidekiq's hard shutdown leaves about
/// three seconds), so after [`Execution::interrupt`] `SIGKILL` follows within this.
const INTERRUPT_GRACE: Duration = Duration::from_secs(1);

/// While the group is being ended, how often to look whether it is gone.
const GROUP_CHECK_INTERVAL: Duration = Duration::from_millis(5);

/// What [`Execution::wait`] returned for.
#[derive(Debug)]
pub enum Step {
    /// The program and its group are gone; this is the final result.
    Finished(Box<Outcome>),
    /// The [`Waker`] was used. Call `wait` again to go on.
    Woken,
    /// A stream holds at least the `flush_at` bytes set on the command; take
    /// them with [`Execution::take_output`] and call `wait` again.
    Output,
}

/// The program being written to (its stdin) while it runs.
#[derive(Debug)]
struct StdinFeed {
    fd: OwnedFd,
    bytes: Vec<u8>,
    written: usize,
}

/// A running program under supervision. Dropping it before it finished kills
/// the group with `SIGKILL` and reaps the program.
#[derive(Debug)]
pub struct Execution {
    pid: i32,
    pidfd: Option<OwnedFd>,
    status: Option<ExitStatus>,
    max_rss: Option<u64>,
    stdin: Option<StdinFeed>,
    stdout: Capture,
    stderr: Capture,
    progress: ProgressWatch,
    waker: Waker,
    started: Instant,
    ended: Option<Instant>,
    kill_after: Duration,
    /// The bound and kill escalation, shared with the supervisor thread.
    supervised: Supervised,
    ending: Ending,
    killed_leftovers: bool,
    group_gone: bool,
    flush_at: Option<usize>,
    finished: bool,
}

impl Command {
    /// Starts the program in a new process group.
    ///
    /// # Errors
    /// [`SpawnError`] when it cannot be started: not found, not executable, a bad
    /// working directory, or no descriptors or processes left.
    pub fn spawn(&self) -> Result<Execution, SpawnError> {
        let failed = |step, source| SpawnError {
            program: self.argv[0].to_string_lossy().into_owned(),
            step,
            source,
        };
        let waker = Waker::new().map_err(|source| failed("eventfd", source))?;
        // Before the spawn, so a program is never started that nothing would bound.
        supervisor::ensure_running().map_err(|source| failed("supervisor thread", source))?;
        let spawned = spawn::spawn(self)?;
        let started = Instant::now();
        let escalation = Escalation::new(
            spawned.pid,
            spawned.pidfd.try_clone().ok(),
            started,
            self.timeout,
            self.kill_after,
        );
        let stdin = match (spawned.stdin, &self.stdin) {
            (Some(fd), Some(bytes)) => Some(StdinFeed {
                fd,
                bytes: bytes.clone(),
                written: 0,
            }),
            _ => None,
        };
        Ok(Execution {
            pid: spawned.pid,
            pidfd: Some(spawned.pidfd),
            status: None,
            max_rss: None,
            stdin,
            stdout: Capture::new(spawned.stdout, self.max_output),
            stderr: Capture::new(spawned.stderr, self.max_output),
            progress: ProgressWatch::new(self.wake_on_progress),
            waker,
            started,
            ended: None,
            kill_after: self.kill_after,
            supervised: supervisor::supervise(escalation),
            ending: Ending::Natural,
            killed_leftovers: false,
            group_gone: false,
            flush_at: self.flush_at,
            finished: false,
        })
    }
}

impl Execution {
    /// The program's process id, which is also its process-group id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.pid.unsigned_abs()
    }

    /// A handle that makes `wait` return [`Step::Woken`] from another thread.
    #[must_use]
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Output gathered so far and not yet taken.
    pub fn take_output(&mut self, stream: Stream) -> Vec<u8> {
        match stream {
            Stream::Stdout => self.stdout.take(),
            Stream::Stderr => self.stderr.take(),
        }
    }

    /// Progress reports (see [`crate::progress`]) read from stderr since the last call.
    pub fn take_progress(&mut self) -> Vec<Progress> {
        self.progress.take_fresh()
    }

    /// The latest progress report, readable from any thread while the program
    /// runs and after, without waking the wait.
    #[must_use]
    pub fn latest_progress(&self) -> LatestProgress {
        self.progress.latest_handle()
    }

    /// The caller gave up (its thread was interrupted): end the group now,
    /// with `SIGKILL` after at most one second. Keep calling `wait` to reap it.
    pub fn interrupt(&mut self) {
        let now = Instant::now();
        if self.ending == Ending::Natural && self.status.is_none() {
            self.ending = Ending::Interrupted;
        }
        let grace = self.kill_after.min(INTERRUPT_GRACE);
        {
            let mut escalation = self.supervised.lock();
            escalation.request(now, grace, later(now, grace));
            escalation.hurry(now, grace);
        }
        self.supervised.timers_changed();
    }

    /// Drives the program until it is finished, woken or has output to hand over.
    pub fn wait(&mut self) -> Step {
        self.drive(None)
    }

    /// Like [`Execution::wait`], but returns [`Step::Woken`] once `limit` has
    /// passed: `Duration::ZERO` does what is ready now without blocking. A
    /// caller that may not block (Ruby refusing to release the GVL while an
    /// interrupt is pending) still makes progress this way.
    pub fn wait_at_most(&mut self, limit: Duration) -> Step {
        self.drive(Some(Instant::now() + limit))
    }

    /// Another program of the same batch failed: end this group as an
    /// interruption would, but with the command's own `kill_after` grace.
    /// Keep calling `wait` (or the batch's) to reap it.
    pub fn cancel(&mut self) {
        if self.ending == Ending::Natural && self.status.is_none() {
            self.ending = Ending::Interrupted;
        }
        self.begin_ending(Instant::now());
    }

    fn drive(&mut self, until: Option<Instant>) -> Step {
        loop {
            let now = Instant::now();
            if let Some(step) = self.due(now) {
                return step;
            }
            let round = poll::wait(
                self.waker.fd(),
                &[self.interest()],
                self.wake_at(until)
                    .map(|at| at.saturating_duration_since(now)),
            );
            self.on_ready(round.ready[0]);
            if round.woken {
                self.waker.reset();
                return Step::Woken;
            }
            if until.is_some_and(|at| Instant::now() >= at) {
                return Step::Woken;
            }
        }
    }

    /// Acts on due timers and says whether the caller has something to take
    /// now: the final outcome, or output to hand over.
    pub(crate) fn due(&mut self, now: Instant) -> Option<Step> {
        self.on_timers(now);
        if self.finished || self.try_finish(now) {
            return Some(Step::Finished(Box::new(self.outcome())));
        }
        let handover = self.flush_at.is_some_and(|at| {
            self.stdout.pending() >= at || self.stderr.pending() >= at || self.progress.has_fresh()
        });
        handover.then_some(Step::Output)
    }

    /// The descriptors to wait on this round.
    pub(crate) fn interest(&self) -> Interest<'_> {
        Interest {
            exit: self.pidfd.as_ref(),
            stdout: self.stdout.fd(),
            stderr: self.stderr.fd(),
            stdin: self.stdin.as_ref().map(|feed| &feed.fd),
        }
    }

    /// When to look again at the latest, the caller's own limit `until` included.
    pub(crate) fn wake_at(&self, until: Option<Instant>) -> Option<Instant> {
        [self.next_timer(), until].into_iter().flatten().min()
    }

    /// Reads, writes and reaps what the poll found ready.
    pub(crate) fn on_ready(&mut self, ready: Ready) {
        if ready.stdout {
            self.read(Stream::Stdout);
        }
        if ready.stderr {
            self.read(Stream::Stderr);
        }
        if ready.stdin {
            self.feed_stdin();
        }
        if ready.exit {
            self.reap();
        }
    }

    /// The capture of `stream`, and the progress watch when it is stderr.
    fn parts(&mut self, stream: Stream) -> (&mut Capture, Option<&mut ProgressWatch>) {
        match stream {
            Stream::Stdout => (&mut self.stdout, None),
            Stream::Stderr => (&mut self.stderr, Some(&mut self.progress)),
        }
    }

    fn read(&mut self, stream: Stream) {
        let (capture, mut progress) = self.parts(stream);
        let event = match capture.read() {
            Ok(event) => {
                if let Some(watch) = progress.as_mut() {
                    watch.feed(capture.fresh());
                }
                Some(event)
            }
            Err(_) => capture
                .drain_and_close(&mut |bytes| progress.as_mut().map_or((), |w| w.feed(bytes))),
        };
        if event == Some(capture::Event::Overflowed) {
            self.on_overflow(stream);
        }
    }

    fn on_overflow(&mut self, stream: Stream) {
        if matches!(self.ending, Ending::Natural | Ending::Interrupted) {
            self.ending = Ending::OutputLimit(stream);
        }
        self.begin_ending(Instant::now());
    }

    fn begin_ending(&mut self, now: Instant) {
        let started = {
            let mut escalation = self.supervised.lock();
            let kill_by = later(escalation.deadline().max(now), self.kill_after);
            escalation.request(now, self.kill_after, kill_by)
        };
        if started {
            self.supervised.timers_changed();
        }
    }

    fn feed_stdin(&mut self) {
        let Some(feed) = &mut self.stdin else { return };
        match pipes::write_some(&feed.fd, &feed.bytes[feed.written..]) {
            Transfer::Bytes(n) => {
                feed.written += n;
                if feed.written == feed.bytes.len() {
                    self.stdin = None; // closing it is the end of file the program waits for
                }
            }
            Transfer::WouldBlock => {}
            Transfer::Closed => self.stdin = None,
        }
    }

    /// Collects the program's status once its pidfd says it exited.
    fn reap(&mut self) {
        let Some(pidfd) = &self.pidfd else { return };
        match wait_pidfd(pidfd) {
            Reaped::NotYet => return,
            Reaped::Exited { status, max_rss } => {
                self.status = Some(status);
                self.max_rss = max_rss;
            }
            Reaped::ByOther => self.status = Some(ExitStatus::Unknown),
        }
        self.ended = Some(Instant::now());
        self.pidfd = None;
        self.stdin = None;
        let active = {
            let mut escalation = self.supervised.lock();
            escalation.leader_reaped();
            escalation.is_active()
        };
        if !active {
            if group::has_live_members(self.pid) {
                self.killed_leftovers = true;
                self.begin_ending(Instant::now());
            } else {
                self.group_gone = true;
                self.supervised.lock().settle();
            }
        }
    }

    /// Acts on due timers (unless the supervisor thread already did) and
    /// learns whether the deadline, rather than this thread, began the ending.
    fn on_timers(&mut self, now: Instant) {
        let cause = {
            let mut escalation = self.supervised.lock();
            escalation.tick(now);
            escalation.cause()
        };
        match cause {
            Some(Cause::Deadline { leader_alive: true }) if self.ending == Ending::Natural => {
                self.ending = Ending::Timeout;
            }
            Some(Cause::Deadline {
                leader_alive: false,
            }) => self.killed_leftovers = true,
            _ => {}
        }
    }

    fn next_timer(&self) -> Option<Instant> {
        let escalation = self.supervised.lock();
        let mut next = escalation.next_timer();
        if escalation.is_active() && self.status.is_some() {
            let check = Instant::now() + GROUP_CHECK_INTERVAL;
            next = Some(next.map_or(check, |at| at.min(check)));
        }
        next
    }

    /// Finished once the program is reaped and nothing of its group lives on;
    /// then the pipes hold all the group ever wrote, so they are drained and closed.
    fn try_finish(&mut self, now: Instant) -> bool {
        let (active, mut gave_up) = {
            let escalation = self.supervised.lock();
            (escalation.is_active(), escalation.gave_up(now))
        };
        if gave_up && self.status.is_none() {
            // Back late (the caller waited for Ruby): the program may well have
            // died long ago; only one that still cannot be reaped is given up on.
            self.reap();
            gave_up = self.status.is_none();
        }
        if self.status.is_some() && !self.group_gone && active {
            self.group_gone = !group::has_live_members(self.pid);
        }
        let settled = self.status.is_some() && self.group_gone;
        if !settled && !gave_up {
            return false;
        }
        self.supervised.lock().settle();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let (capture, mut progress) = self.parts(stream);
            let event = capture
                .drain_and_close(&mut |bytes| progress.as_mut().map_or((), |w| w.feed(bytes)));
            if event == Some(capture::Event::Overflowed) {
                self.on_overflow_after_exit(stream);
            }
        }
        self.progress.finish();
        self.stdin = None;
        self.finished = true;
        true
    }

    fn on_overflow_after_exit(&mut self, stream: Stream) {
        if matches!(self.ending, Ending::Natural | Ending::Interrupted) {
            self.ending = Ending::OutputLimit(stream);
        }
    }

    fn outcome(&mut self) -> Outcome {
        let ended = self.ended.unwrap_or_else(Instant::now);
        Outcome {
            pid: self.pid(),
            status: self.status.unwrap_or(ExitStatus::Unknown),
            ending: self.ending,
            stdout_bytes: self.stdout.total(),
            stderr_bytes: self.stderr.total(),
            stdout: self.stdout.take(),
            stderr: self.stderr.take(),
            duration: ended.duration_since(self.started),
            max_rss: self.max_rss,
            progress: self.progress.latest(),
            signals: self.supervised.lock().signals(),
            killed_leftovers: self.killed_leftovers,
            abandoned: self.status.is_none() || !self.group_gone,
        }
    }
}

impl Drop for Execution {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        group::signal(
            self.pid,
            self.pidfd.as_ref().map(AsFd::as_fd),
            libc::SIGKILL,
        );
        if let Some(pidfd) = &self.pidfd {
            if poll::readable(pidfd, SETTLE_AFTER_KILL) {
                wait_pidfd(pidfd);
            }
        }
    }
}

enum Reaped {
    NotYet,
    Exited {
        status: ExitStatus,
        max_rss: Option<u64>,
    },
    ByOther,
}

/// `waitid(P_PIDFD)` reaps exactly our program (no pid-reuse race) and, through
/// the raw system call, also returns its rusage.
fn wait_pidfd(pidfd: &OwnedFd) -> Reaped {
    use std::os::fd::AsRawFd;
    // SAFETY: siginfo_t and rusage are plain data the kernel fills in.
    let (rc, info, usage) = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let mut usage: libc::rusage = std::mem::zeroed();
        let rc = libc::syscall(
            libc::SYS_waitid,
            libc::P_PIDFD,
            pidfd.as_raw_fd(),
            &raw mut info,
            libc::WEXITED | libc::WNOHANG,
            &raw mut usage,
        );
        (rc, info, usage)
    };
    if rc != 0 {
        return Reaped::ByOther; // ECHILD: the host reaped it (trap("CHLD") { Process.wait })
    }
    // SAFETY: waitid succeeded, so the SIGCHLD fields are the valid union member.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Reaped::NotYet;
    }
    let status = match info.si_code {
        libc::CLD_EXITED => ExitStatus::Exited(status),
        _ => ExitStatus::Signaled(status),
    };
    let max_rss = u64::try_from(usage.ru_maxrss).ok().map(|kib| kib * 1024);
    Reaped::Exited { status, max_rss }
}
