//! Circuit breakers shared by name within the process: after `threshold`
//! consecutive failures a breaker opens and refuses calls; after `cool_off` it
//! lets one probe through (half-open); the probe's success closes it, its
//! failure opens it again. State is per process: each Sidekiq process of a
//! fleet keeps its own.

use std::collections::HashMap;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, Once, PoisonError, TryLockError};
use std::time::{Duration, Instant};

/// What a breaker says to a call about to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: go ahead.
    Allowed,
    /// Half-open: this call is the one probe; report its result with `was_probe`.
    Probe,
    /// Open (or a probe is already running): refuse; the next probe may go after `retry_in`.
    Open {
        /// Time until a probe may be let through.
        retry_in: Duration,
    },
}

/// A breaker's state, for reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls go through.
    Closed,
    /// Calls are refused.
    Open,
    /// One probe is running.
    HalfOpen,
}

/// A breaker's state, failures and time to the next probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// The state.
    pub state: State,
    /// Consecutive failures counted.
    pub failures: u32,
    /// Time until a probe may be let through (zero unless open).
    pub retry_in: Duration,
}

/// Threshold and cool-off of a breaker first met through `record`/`snapshot`.
const DEFAULT_CONFIG: (u32, Duration) = (5, Duration::from_secs(60));

#[derive(Debug, Clone)]
struct Breaker {
    threshold: u32,
    cool_off: Duration,
    failures: u32,
    opened_at: Option<Instant>,
    probing: bool,
}

impl Breaker {
    fn retry_in(&self, now: Instant) -> Duration {
        self.opened_at.map_or(Duration::ZERO, |at| {
            (at + self.cool_off).saturating_duration_since(now)
        })
    }

    fn state(&self) -> State {
        match (self.opened_at, self.probing) {
            (None, _) => State::Closed,
            (Some(_), true) => State::HalfOpen,
            (Some(_), false) => State::Open,
        }
    }
}

/// The breakers of one process. A forked child must not touch its parent's
/// lock (a thread that held it at the fork does not exist in the child), so
/// `fork` gives the child a table of its own (see [`renew_after_fork`]).
struct Table {
    breakers: Mutex<HashMap<String, Breaker>>,
}

impl Table {
    fn leaked(breakers: HashMap<String, Breaker>) -> *mut Table {
        Box::into_raw(Box::new(Table {
            breakers: Mutex::new(breakers),
        }))
    }
}

static TABLE: AtomicPtr<Table> = AtomicPtr::new(ptr::null_mut());
static RENEW_AFTER_FORK: Once = Once::new();

fn table() -> &'static Table {
    // SAFETY: TABLE only ever holds pointers from Table::leaked, never freed.
    if let Some(table) = unsafe { TABLE.load(Ordering::Acquire).as_ref() } {
        return table;
    }
    RENEW_AFTER_FORK.call_once(|| {
        // SAFETY: registers a plain function; glibc runs it in the child of
        // every fork(2) made through libc (Ruby's fork, Process.fork), not for
        // posix_spawn or our own clone-based spawn, which share nothing here.
        unsafe { libc::pthread_atfork(None, None, Some(renew_after_fork)) };
    });
    let fresh = Table::leaked(HashMap::new());
    match TABLE.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: just leaked, never freed.
        Ok(_) => unsafe { &*fresh },
        // Another thread installed the table first.
        // SAFETY: `fresh` was never shared; `winner` comes from Table::leaked.
        Err(winner) => unsafe {
            drop(Box::from_raw(fresh));
            &*winner
        },
    }
}

/// Runs in the child of a fork, before `fork` returns there, while the
/// forking thread is the only one: gives the child a table of its own, copied
/// from the parent's unless a thread that did not survive the fork held its
/// lock (then it starts empty). A probe the parent was running is not the
/// child's to answer, so copies come back open, not half-open: the child
/// probes for itself after the cool-off. The parent's table is leaked on
/// purpose: once per fork, and its lock may never be released.
extern "C" fn renew_after_fork() {
    // SAFETY: as in `table`.
    let Some(parent) = (unsafe { TABLE.load(Ordering::Acquire).as_ref() }) else {
        return;
    };
    let inherited = match parent.breakers.try_lock() {
        Ok(all) => without_probes(&all),
        Err(TryLockError::Poisoned(poisoned)) => without_probes(&poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => HashMap::new(),
    };
    TABLE.store(Table::leaked(inherited), Ordering::Release);
}

fn without_probes(all: &HashMap<String, Breaker>) -> HashMap<String, Breaker> {
    all.iter()
        .map(|(name, breaker)| {
            (
                name.clone(),
                Breaker {
                    probing: false,
                    ..breaker.clone()
                },
            )
        })
        .collect()
}

/// Runs `f` on breaker `name`, created with `config` (or the defaults) if new;
/// a given config replaces the breaker's and keeps its state.
fn with_breaker<T>(
    name: &str,
    config: Option<(u32, Duration)>,
    f: impl FnOnce(&mut Breaker) -> T,
) -> T {
    let mut all = table()
        .breakers
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let breaker = all.entry(name.to_owned()).or_insert_with(|| {
        let (threshold, cool_off) = config.unwrap_or(DEFAULT_CONFIG);
        Breaker {
            threshold,
            cool_off,
            failures: 0,
            opened_at: None,
            probing: false,
        }
    });
    if let Some((threshold, cool_off)) = config {
        breaker.threshold = threshold.max(1);
        breaker.cool_off = cool_off;
    }
    f(breaker)
}

/// Asks breaker `name` (created with this config if new; otherwise its config
/// is updated and its state kept) whether a call may start.
#[must_use]
pub fn admit(name: &str, threshold: u32, cool_off: Duration) -> Admission {
    with_breaker(name, Some((threshold, cool_off)), |breaker| {
        let now = Instant::now();
        match breaker.opened_at {
            None => Admission::Allowed,
            Some(_) if breaker.probing => Admission::Open {
                retry_in: breaker.retry_in(now),
            },
            Some(_) => {
                let retry_in = breaker.retry_in(now);
                if retry_in.is_zero() {
                    breaker.probing = true;
                    Admission::Probe
                } else {
                    Admission::Open { retry_in }
                }
            }
        }
    })
}

/// Reports how an admitted call went.
pub fn record(name: &str, success: bool, was_probe: bool) {
    with_breaker(name, None, |breaker| {
        if was_probe {
            breaker.probing = false;
        } else if breaker.opened_at.is_some() {
            return; // a call admitted before the breaker opened says nothing new
        }
        if success {
            breaker.failures = 0;
            breaker.opened_at = None;
        } else {
            breaker.failures = breaker.failures.saturating_add(1);
            if was_probe || breaker.failures >= breaker.threshold {
                breaker.opened_at = Some(Instant::now());
            }
        }
    });
}

/// Reads breaker `name` (a closed one with no failures if it was never used).
#[must_use]
pub fn snapshot(name: &str) -> Snapshot {
    with_breaker(name, None, |breaker| Snapshot {
        state: breaker.state(),
        failures: breaker.failures,
        retry_in: breaker.retry_in(Instant::now()),
    })
}

/// Closes breaker `name` and forgets its failures.
pub fn reset(name: &str) {
    with_breaker(name, None, |breaker| {
        breaker.failures = 0;
        breaker.opened_at = None;
        breaker.probing = false;
    });
}

#[cfg(test)]
mod tests {
    use super::{admit, record, reset, snapshot, table, Admission, State};
    use std::time::{Duration, Instant};

    /// Waits at most `bound` for child `pid`; its exit code, or None (after killing it).
    fn exit_code_within(pid: libc::pid_t, bound: Duration) -> Option<i32> {
        let started = Instant::now();
        let mut status = 0;
        while started.elapsed() < bound {
            // SAFETY: pid is our own child; status is a valid out-pointer.
            match unsafe { libc::waitpid(pid, &raw mut status, libc::WNOHANG) } {
                0 => std::thread::sleep(Duration::from_millis(5)),
                _ => return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
            }
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, &raw mut status, 0);
        }
        None
    }

    #[test]
    fn a_child_forked_while_the_lock_is_held_starts_afresh_instead_of_deadlocking() {
        let name = "unit-fork-locked";
        assert_eq!(admit(name, 1, Duration::from_secs(60)), Admission::Allowed);
        record(name, false, false);
        let held = table().breakers.lock().unwrap();
        // SAFETY: the child only reads the table and calls _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let fresh = snapshot(name).state == State::Closed;
            // SAFETY: _exit is async-signal-safe and skips the harness's atexit work.
            unsafe { libc::_exit(i32::from(!fresh)) }
        }
        drop(held);
        assert_eq!(exit_code_within(pid, Duration::from_secs(10)), Some(0));
        assert_eq!(
            snapshot(name).state,
            State::Open,
            "the parent's state is kept"
        );
        reset(name);
    }

    #[test]
    fn opens_after_threshold_probes_once_after_cool_off_and_closes_on_success() {
        let name = "unit-open-probe-close";
        let cool_off = Duration::from_millis(50);
        for _ in 0..3 {
            assert_eq!(admit(name, 3, cool_off), Admission::Allowed);
            record(name, false, false);
        }
        assert!(matches!(admit(name, 3, cool_off), Admission::Open { .. }));
        std::thread::sleep(cool_off);
        assert_eq!(admit(name, 3, cool_off), Admission::Probe);
        assert!(
            matches!(admit(name, 3, cool_off), Admission::Open { .. }),
            "one probe at a time"
        );
        assert_eq!(snapshot(name).state, State::HalfOpen);
        record(name, true, true);
        assert_eq!(snapshot(name).state, State::Closed);
        assert_eq!(admit(name, 3, cool_off), Admission::Allowed);
        reset(name);
    }

    #[test]
    fn a_failed_probe_reopens() {
        let name = "unit-failed-probe";
        assert_eq!(admit(name, 1, Duration::ZERO), Admission::Allowed);
        record(name, false, false);
        assert_eq!(admit(name, 1, Duration::ZERO), Admission::Probe);
        record(name, false, true);
        assert_eq!(snapshot(name).state, State::Open);
    }
}
