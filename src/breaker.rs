//! Circuit breakers shared by name within the process: after `threshold`
//! consecutive failures a breaker opens and refuses calls; after `cool_off` it
//! lets one probe through (half-open); the probe's success closes it, its
//! failure opens it again. State is per process: each Sidekiq process of a
//! fleet keeps its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
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

#[derive(Debug)]
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

type Registry = Mutex<HashMap<String, Arc<Mutex<Breaker>>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

fn breaker(name: &str, config: Option<(u32, Duration)>) -> Arc<Mutex<Breaker>> {
    let mut all = registry().lock().unwrap_or_else(PoisonError::into_inner);
    let entry = all.entry(name.to_owned()).or_insert_with(|| {
        let (threshold, cool_off) = config.unwrap_or((5, Duration::from_secs(60)));
        Arc::new(Mutex::new(Breaker {
            threshold,
            cool_off,
            failures: 0,
            opened_at: None,
            probing: false,
        }))
    });
    if let Some((threshold, cool_off)) = config {
        let mut breaker = entry.lock().unwrap_or_else(PoisonError::into_inner);
        breaker.threshold = threshold.max(1);
        breaker.cool_off = cool_off;
    }
    Arc::clone(entry)
}

/// Asks breaker `name` (created with this config if new; otherwise its config
/// is updated and its state kept) whether a call may start.
#[must_use]
pub fn admit(name: &str, threshold: u32, cool_off: Duration) -> Admission {
    let shared = breaker(name, Some((threshold, cool_off)));
    let mut breaker = shared.lock().unwrap_or_else(PoisonError::into_inner);
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
}

/// Reports how an admitted call went.
pub fn record(name: &str, success: bool, was_probe: bool) {
    let shared = breaker(name, None);
    let mut breaker = shared.lock().unwrap_or_else(PoisonError::into_inner);
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
}

/// Reads breaker `name` (a closed one with no failures if it was never used).
#[must_use]
pub fn snapshot(name: &str) -> Snapshot {
    let shared = breaker(name, None);
    let breaker = shared.lock().unwrap_or_else(PoisonError::into_inner);
    Snapshot {
        state: breaker.state(),
        failures: breaker.failures,
        retry_in: breaker.retry_in(Instant::now()),
    }
}

/// Closes breaker `name` and forgets its failures.
pub fn reset(name: &str) {
    let shared = breaker(name, None);
    let mut breaker = shared.lock().unwrap_or_else(PoisonError::into_inner);
    breaker.failures = 0;
    breaker.opened_at = None;
    breaker.probing = false;
}

#[cfg(test)]
mod tests {
    use super::{admit, record, reset, snapshot, Admission, State};
    use std::time::Duration;

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
