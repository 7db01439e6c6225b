//! `GazetteRunner::Native::Outcome` (what a run produced, read by `Result`)
//! and `GazetteRunner::Native::LiveProgress` (a running program's latest report).

use gazette_runner_core::progress::{LatestProgress, Progress};
use gazette_runner_core::{Ending, Outcome, Stream};
use magnus::{
    gc::Marker, method, prelude::*, value::Opaque, DataTypeFunctions, Error, IntoValue, RModule,
    RString, Ruby, TypedData, Value,
};

/// One finished run. Its output Strings are Ruby objects already, marked for the GC.
#[derive(TypedData)]
#[magnus(class = "GazetteRunner::Native::Outcome", free_immediately, size, mark)]
pub(crate) struct RunOutcome {
    outcome: Outcome,
    stdout: Opaque<RString>,
    stderr: Opaque<RString>,
}

impl DataTypeFunctions for RunOutcome {
    fn mark(&self, marker: &Marker) {
        marker.mark(self.stdout);
        marker.mark(self.stderr);
    }
}

fn seconds(duration: Option<std::time::Duration>) -> Option<f64> {
    duration.map(|d| d.as_secs_f64())
}

fn progress_pair(ruby: &Ruby, progress: Option<&Progress>) -> Value {
    progress.map_or_else(
        || ruby.qnil().as_value(),
        |p| {
            let message = p.message.as_deref().map(|m| ruby.str_new(m));
            ruby.ary_new_from_values(&[
                p.percent.into_value_with(ruby),
                message.into_value_with(ruby),
            ])
            .as_value()
        },
    )
}

impl RunOutcome {
    /// `stdout` and `stderr` hold everything the run kept, `outcome`'s own buffers emptied into them.
    pub(crate) fn new(outcome: Outcome, stdout: RString, stderr: RString) -> Self {
        Self {
            outcome,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    fn pid(&self) -> u32 {
        self.outcome.pid
    }
    fn exit_code(&self) -> Option<i32> {
        self.outcome.status.code()
    }
    fn signal(&self) -> Option<i32> {
        self.outcome.status.signal()
    }
    fn ending(ruby: &Ruby, rb_self: &Self) -> Value {
        let name = match rb_self.outcome.ending {
            Ending::Natural => "natural",
            Ending::Timeout => "timeout",
            Ending::OutputLimit(Stream::Stdout) => "stdout_limit",
            Ending::OutputLimit(Stream::Stderr) => "stderr_limit",
            Ending::Interrupted => "interrupted",
        };
        ruby.to_symbol(name).as_value()
    }
    fn stdout(ruby: &Ruby, rb_self: &Self) -> RString {
        ruby.get_inner(rb_self.stdout)
    }
    fn stderr(ruby: &Ruby, rb_self: &Self) -> RString {
        ruby.get_inner(rb_self.stderr)
    }
    fn stdout_bytes(&self) -> u64 {
        self.outcome.stdout_bytes
    }
    fn duration(&self) -> f64 {
        self.outcome.duration.as_secs_f64()
    }
    fn max_rss(&self) -> Option<u64> {
        self.outcome.max_rss
    }
    fn killed_leftovers(&self) -> bool {
        self.outcome.killed_leftovers
    }
    fn abandoned(&self) -> bool {
        self.outcome.abandoned
    }
    fn progress(ruby: &Ruby, rb_self: &Self) -> Value {
        progress_pair(ruby, rb_self.outcome.progress.as_ref())
    }
    fn terminated_at(&self) -> Option<f64> {
        seconds(self.outcome.signals.terminated_at)
    }
    fn killed_at(&self) -> Option<f64> {
        seconds(self.outcome.signals.killed_at)
    }
}

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

/// Looks the wrapped classes up once, at load (see `init`).
pub(crate) fn resolve(ruby: &Ruby) {
    RunOutcome::class(ruby);
    LiveProgress::class(ruby);
}

pub(crate) fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let class = native.define_class("Outcome", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("pid", method!(RunOutcome::pid, 0))?;
    class.define_method("exit_code", method!(RunOutcome::exit_code, 0))?;
    class.define_method("signal", method!(RunOutcome::signal, 0))?;
    class.define_method("ending", method!(RunOutcome::ending, 0))?;
    class.define_method("stdout", method!(RunOutcome::stdout, 0))?;
    class.define_method("stderr", method!(RunOutcome::stderr, 0))?;
    class.define_method("stdout_bytes", method!(RunOutcome::stdout_bytes, 0))?;
    class.define_method("duration", method!(RunOutcome::duration, 0))?;
    class.define_method("max_rss", method!(RunOutcome::max_rss, 0))?;
    class.define_method("killed_leftovers", method!(RunOutcome::killed_leftovers, 0))?;
    class.define_method("abandoned", method!(RunOutcome::abandoned, 0))?;
    class.define_method("progress", method!(RunOutcome::progress, 0))?;
    class.define_method("terminated_at", method!(RunOutcome::terminated_at, 0))?;
    class.define_method("killed_at", method!(RunOutcome::killed_at, 0))?;
    let live = native.define_class("LiveProgress", ruby.class_object())?;
    live.undef_default_alloc_func();
    live.define_method("latest", method!(LiveProgress::latest, 0))?;
    Ok(())
}
