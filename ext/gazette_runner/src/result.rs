//! A finished run as a frozen `GazetteRunner::Result`, built here in one step:
//! the Ruby layer reads no native value field by field after a run (bench row
//! 1c: after the program's wait every Ruby method runs with cold caches).
//!
//! The instance variables are those `Result#assign` (`lib/gazette_runner/result.rb`)
//! sets; `spec/result_spec.rb` checks that both ways build the same object.

use gazette_runner_core::progress::Progress;
use gazette_runner_core::{Ending, Outcome, Stream};
use magnus::{
    encoding::EncodingCapable, prelude::*, value::Lazy, value::LazyId, Error, IntoValue, RArray,
    RClass, RModule, RObject, RString, Ruby, TryConvert, Value,
};

fn gem_class(ruby: &Ruby, name: &str) -> RClass {
    ruby.class_object()
        .const_get::<_, RModule>("GazetteRunner")
        .and_then(|gem| gem.const_get::<_, RClass>(name))
        .expect(
            "lib/gazette_runner.rb defines the gem's value classes before loading the extension",
        )
}

static RESULT: Lazy<RClass> = Lazy::new(|ruby| gem_class(ruby, "Result"));
static PROGRESS: Lazy<RClass> = Lazy::new(|ruby| gem_class(ruby, "Progress"));

static ARGV: LazyId = LazyId::new("@argv");
static PID: LazyId = LazyId::new("@pid");
static EXIT_CODE: LazyId = LazyId::new("@exit_code");
static SIGNAL: LazyId = LazyId::new("@signal");
static STDOUT: LazyId = LazyId::new("@stdout");
static STDERR: LazyId = LazyId::new("@stderr");
static DURATION: LazyId = LazyId::new("@duration");
static MAX_RSS: LazyId = LazyId::new("@max_rss");
static ENDING: LazyId = LazyId::new("@ending");
static KILLED_LEFTOVERS: LazyId = LazyId::new("@killed_leftovers");
static ABANDONED: LazyId = LazyId::new("@abandoned");
static PROGRESS_IVAR: LazyId = LazyId::new("@progress");
static TERMINATED_AT: LazyId = LazyId::new("@terminated_at");
static KILLED_AT: LazyId = LazyId::new("@killed_at");

/// Looks the classes and names up once, at load (see `init`).
pub(crate) fn resolve(ruby: &Ruby) {
    Lazy::force(&RESULT, ruby);
    Lazy::force(&PROGRESS, ruby);
    for id in [
        &ARGV,
        &PID,
        &EXIT_CODE,
        &SIGNAL,
        &STDOUT,
        &STDERR,
        &DURATION,
        &MAX_RSS,
        &ENDING,
        &KILLED_LEFTOVERS,
        &ABANDONED,
        &PROGRESS_IVAR,
        &TERMINATED_AT,
        &KILLED_AT,
    ] {
        LazyId::force(id, ruby);
    }
}

/// The name Ruby gives an ending (`Result#ending`).
pub(crate) fn ending_name(ending: Ending) -> &'static str {
    match ending {
        Ending::Natural => "natural",
        Ending::Timeout => "timeout",
        Ending::OutputLimit(Stream::Stdout) => "stdout_limit",
        Ending::OutputLimit(Stream::Stderr) => "stderr_limit",
        Ending::Interrupted => "interrupted",
    }
}

/// `[percent, message]` or nil, as `Progress.from_native` takes it.
pub(crate) fn progress_pair(ruby: &Ruby, progress: Option<&Progress>) -> Value {
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

/// Output as `Result#stdout` holds it: frozen, in `Encoding.default_external` (like Open3's).
fn text(ruby: &Ruby, bytes: RString) -> Result<RString, Error> {
    bytes.enc_associate(ruby.enc_default_external())?;
    bytes.freeze();
    Ok(bytes)
}

fn seconds(duration: Option<std::time::Duration>) -> Option<f64> {
    duration.map(|d| d.as_secs_f64())
}

/// The `GazetteRunner::Result` of a run of `argv` (frozen, of frozen Strings),
/// whose output `stdout` and `stderr` hold.
pub(crate) fn build(
    ruby: &Ruby,
    argv: RArray,
    outcome: &Outcome,
    stdout: RString,
    stderr: RString,
) -> Result<Value, Error> {
    let progress = match outcome.progress.as_ref() {
        Some(progress) => ruby
            .get_inner(&PROGRESS)
            .funcall("from_native", (progress_pair(ruby, Some(progress)),))?,
        None => ruby.qnil().as_value(),
    };
    let result = RObject::try_convert(ruby.get_inner(&RESULT).obj_alloc()?)?;
    result.ivar_set(*ARGV, argv)?;
    result.ivar_set(*PID, outcome.pid)?;
    result.ivar_set(*EXIT_CODE, outcome.status.code())?;
    result.ivar_set(*SIGNAL, outcome.status.signal())?;
    result.ivar_set(*STDOUT, text(ruby, stdout)?)?;
    result.ivar_set(*STDERR, text(ruby, stderr)?)?;
    result.ivar_set(*DURATION, outcome.duration.as_secs_f64())?;
    result.ivar_set(*MAX_RSS, outcome.max_rss)?;
    result.ivar_set(*ENDING, ruby.to_symbol(ending_name(outcome.ending)))?;
    result.ivar_set(*KILLED_LEFTOVERS, outcome.killed_leftovers)?;
    result.ivar_set(*ABANDONED, outcome.abandoned)?;
    result.ivar_set(*PROGRESS_IVAR, progress)?;
    result.ivar_set(*TERMINATED_AT, seconds(outcome.signals.terminated_at))?;
    result.ivar_set(*KILLED_AT, seconds(outcome.signals.killed_at))?;
    result.freeze();
    Ok(result.as_value())
}
