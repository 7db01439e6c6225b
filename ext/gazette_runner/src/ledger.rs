//! How plain runs ended, for `GazetteRunner.stats`: a plain `run` (no option,
//! nothing listening) records here without calling Ruby, and `Stats` takes
//! the records whenever it is read, or before the next plain run starts once
//! `DRAIN_AT` have gathered. What each ending counts as is decided in Ruby
//! (`Event.outcome_of_ending`).
//!
//! Recording never calls Ruby: an exception raised there (an interrupt
//! arriving) would replace the run's own result or error. Draining does, so
//! it happens before a run spawns anything, where an exception only means
//! that the run did not start.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use magnus::{prelude::*, value::Lazy, Error, IntoValue, RArray, RClass, RModule, Ruby};

struct Record {
    /// The process that recorded it: a forked child counts only its own.
    owner: u32,
    /// A `Result#ending` name, or `spawn_error`, `interrupted`, `internal_error`.
    ending: &'static str,
    exited_zero: bool,
    /// Seconds; none when no program was started.
    duration: Option<f64>,
    /// Unix time in whole seconds.
    at: u64,
}

/// Records kept before `Stats` is asked to take them: memory stays bounded
/// when nothing reads the stats.
const DRAIN_AT: usize = 256;

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());

fn records() -> MutexGuard<'static, Vec<Record>> {
    RECORDS.lock().unwrap_or_else(PoisonError::into_inner)
}

static STATS: Lazy<RClass> = Lazy::new(|ruby| {
    ruby.class_object()
        .const_get::<_, RModule>("GazetteRunner")
        .and_then(|gem| gem.const_get::<_, RClass>("Stats"))
        .expect("lib/gazette_runner.rb defines Stats before loading the extension")
});

/// Looks the class up once, at load (see `init`).
pub(crate) fn resolve(ruby: &Ruby) {
    Lazy::force(&STATS, ruby);
}

/// Before a plain run starts: once [`DRAIN_AT`] records wait, `Stats` takes them.
pub(crate) fn drain_if_full(ruby: &Ruby) -> Result<(), Error> {
    if records().len() >= DRAIN_AT {
        ruby.get_inner(&STATS)
            .funcall::<_, _, magnus::Value>("drain_native", ())?;
    }
    Ok(())
}

/// Records one plain run's ending, without calling Ruby.
pub(crate) fn record(ending: &'static str, exited_zero: bool, duration: Option<f64>) {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    records().push(Record {
        owner: std::process::id(),
        ending,
        exited_zero,
        duration,
        at,
    });
}

/// In a forked child: forgets the parent's records.
pub(crate) fn forget_parent() {
    let owner = std::process::id();
    records().retain(|record| record.owner == owner);
}

/// `Native.take_records`: `[ending, exited_zero, duration, at]` for each
/// record of this process, oldest first; the ledger is emptied.
fn take(ruby: &Ruby) -> Result<RArray, Error> {
    let owner = std::process::id();
    let taken: Vec<Record> = std::mem::take(&mut *records());
    let rows = ruby.ary_new_capa(taken.len());
    for record in taken.into_iter().filter(|record| record.owner == owner) {
        rows.push(ruby.ary_new_from_values(&[
            ruby.to_symbol(record.ending).as_value(),
            record.exited_zero.into_value_with(ruby),
            record.duration.into_value_with(ruby),
            record.at.into_value_with(ruby),
        ]))?;
    }
    Ok(rows)
}

pub(crate) fn define(native: RModule) -> Result<(), Error> {
    native.define_module_function("take_records", magnus::function!(take, 0))
}
