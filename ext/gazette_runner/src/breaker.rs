//! `GazetteRunner::Native.breaker_*`: the core's named circuit breakers.

use std::time::Duration;

use gazette_runner_core::breaker::{self, Admission, State};
use magnus::{Error, IntoValue, RArray, Ruby};

/// `[:allowed | :probe | :open, retry_in_seconds]`.
// By value: magnus's `function!` converts each argument with `TryConvert`, which has no `&str`.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn admit(
    ruby: &Ruby,
    name: String,
    threshold: u32,
    cool_off: f64,
) -> Result<RArray, Error> {
    let cool_off = Duration::try_from_secs_f64(cool_off).map_err(|_| {
        Error::new(
            ruby.exception_arg_error(),
            "cool_off must be a finite number of seconds >= 0",
        )
    })?;
    let (tag, retry_in) = match breaker::admit(&name, threshold, cool_off) {
        Admission::Allowed => ("allowed", Duration::ZERO),
        Admission::Probe => ("probe", Duration::ZERO),
        Admission::Open { retry_in } => ("open", retry_in),
    };
    Ok(ruby.ary_new_from_values(&[
        ruby.to_symbol(tag).into_value_with(ruby),
        retry_in.as_secs_f64().into_value_with(ruby),
    ]))
}

// By value: magnus's `function!` converts each argument with `TryConvert`, which has no `&str`.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn record(name: String, success: bool, was_probe: bool) {
    breaker::record(&name, success, was_probe);
}

/// `[:closed | :open | :half_open, failures, retry_in_seconds]`.
// By value: magnus's `function!` converts each argument with `TryConvert`, which has no `&str`.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn snapshot(ruby: &Ruby, name: String) -> RArray {
    let snapshot = breaker::snapshot(&name);
    let state = match snapshot.state {
        State::Closed => "closed",
        State::Open => "open",
        State::HalfOpen => "half_open",
    };
    ruby.ary_new_from_values(&[
        ruby.to_symbol(state).into_value_with(ruby),
        snapshot.failures.into_value_with(ruby),
        snapshot.retry_in.as_secs_f64().into_value_with(ruby),
    ])
}

// By value: magnus's `function!` converts each argument with `TryConvert`, which has no `&str`.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn reset(name: String) {
    breaker::reset(&name);
}
