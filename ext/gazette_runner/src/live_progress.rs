//! `GazetteRunner::Native::LiveProgress`: a running program's latest progress report.

use gazette_runner_core::progress::LatestProgress;
use magnus::{method, prelude::*, Error, RModule, Ruby, Value};

use crate::result::progress_pair;

/// A running program's latest progress report, read without waking its wait.
#[magnus::wrap(class = "GazetteRunner::Native::LiveProgress", free_immediately, size)]
pub(crate) struct LiveProgress(LatestProgress);

impl LiveProgress {
    pub(crate) fn new(latest: LatestProgress) -> Self {
        Self(latest)
    }

    /// `[percent, message]` or nil.
    fn latest(ruby: &Ruby, rb_self: &Self) -> Value {
        progress_pair(ruby, rb_self.0.get().as_ref())
    }
}

/// Looks the wrapped class up once, at load (see `init`).
pub(crate) fn resolve(ruby: &Ruby) {
    use magnus::TypedData;
    LiveProgress::class(ruby);
}

pub(crate) fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let live = native.define_class("LiveProgress", ruby.class_object())?;
    live.undef_default_alloc_func();
    live.define_method("latest", method!(LiveProgress::latest, 0))?;
    Ok(())
}
