//! What `GazetteRunner.running` lists: the programs this process runs right
//! now, each registered from its spawn until its reap by the native run that
//! owns it (a single run, a batch's member, or a plain `run`), with no Ruby
//! call on the way.
//!
//! The entries' Ruby values (argv, the waiting thread) are marked by one
//! object made at load. The table is locked only by threads holding the GVL
//! and never while Ruby can allocate, so a GC's mark always finds it free.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use gazette_runner_core::progress::LatestProgress;
use gazette_runner_core::Execution;
use magnus::{
    gc::Marker, prelude::*, value::Opaque, DataTypeFunctions, Error, IntoValue, RArray, RModule,
    Ruby, TypedData, Value,
};

use crate::live_progress::LiveProgress;

#[derive(Clone)]
struct Entry {
    key: u64,
    /// The process that registered it: a forked child lists only its own.
    owner: u32,
    pid: u32,
    argv: Opaque<RArray>,
    bound: f64,
    /// Unix time of the spawn, in seconds.
    started: f64,
    thread: Opaque<Value>,
    progress: LatestProgress,
}

static ENTRIES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

fn entries() -> MutexGuard<'static, Vec<Entry>> {
    ENTRIES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Marks every entry's Ruby values; its one instance is kept alive for good.
#[derive(TypedData)]
#[magnus(class = "GazetteRunner::Native::RunningRoots", mark)]
struct Roots;

impl DataTypeFunctions for Roots {
    fn mark(&self, marker: &Marker) {
        for entry in entries().iter() {
            marker.mark(entry.argv);
            marker.mark(entry.thread);
        }
    }
}

/// A program's place in the table, for as long as this lives.
pub(crate) struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        entries().retain(|entry| entry.key != self.0);
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// Lists `execution`'s program, run for `argv` within `bound` seconds by the calling thread.
pub(crate) fn register(
    ruby: &Ruby,
    execution: &Execution,
    argv: RArray,
    bound: f64,
) -> Registration {
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    let entry = Entry {
        key,
        owner: std::process::id(),
        pid: execution.pid(),
        argv: argv.into(),
        bound,
        started: unix_now(),
        thread: ruby.thread_current().as_value().into(),
        progress: execution.latest_progress(),
    };
    entries().push(entry);
    Registration(key)
}

/// In a forked child: forgets (and stops marking) the parent's programs.
pub(crate) fn forget_parent() {
    let owner = std::process::id();
    entries().retain(|entry| entry.owner == owner);
}

/// `Native.running`: `[pid, argv, started_at, bound, live_progress, thread]`
/// for each program this process runs.
fn list(ruby: &Ruby) -> Result<RArray, Error> {
    let owner = std::process::id();
    let listed: Vec<Entry> = {
        let mut entries = entries();
        entries.retain(|entry| entry.owner == owner); // a parent's, inherited by fork
        entries.clone()
    };
    // The values stay marked through the table while the rows are made: an
    // entry is removed only by its run's thread holding the GVL (a batch's
    // slots are freed by a deferred free, never by the GC's sweep here).
    let rows = ruby.ary_new_capa(listed.len());
    for entry in listed {
        rows.push(ruby.ary_new_from_values(&[
            entry.pid.into_value_with(ruby),
            ruby.get_inner(entry.argv).as_value(),
            entry.started.into_value_with(ruby),
            entry.bound.into_value_with(ruby),
            LiveProgress::new(entry.progress).into_value_with(ruby),
            ruby.get_inner(entry.thread),
        ]))?;
    }
    Ok(rows)
}

pub(crate) fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let class = native.define_class("RunningRoots", ruby.class_object())?;
    class.undef_default_alloc_func();
    Roots::class(ruby);
    ruby.gc_register_mark_object(Roots.into_value_with(ruby));
    native.define_module_function("running", magnus::function!(list, 0))?;
    Ok(())
}
