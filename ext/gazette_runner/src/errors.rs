//! Core errors as Ruby exceptions, and the shield every entry point stands
//! behind. The classes are defined in Ruby (`lib/gazette_runner/errors.rb`,
//! loaded before this extension) and looked up once, on first use.

use std::panic::{catch_unwind, AssertUnwindSafe};

use gazette_runner_core::{CommandError, SpawnError};
use magnus::{prelude::*, value::Lazy, Error, ExceptionClass, RModule, Ruby};

/// `GazetteRunner::<name>`, or `StandardError` should it be missing: raising
/// must never itself fail.
fn gem_class(ruby: &Ruby, name: &str) -> ExceptionClass {
    ruby.class_object()
        .const_get::<_, RModule>("GazetteRunner")
        .and_then(|gem| gem.const_get::<_, ExceptionClass>(name))
        .unwrap_or_else(|_| ruby.exception_standard_error())
}

static SPAWN_ERROR: Lazy<ExceptionClass> = Lazy::new(|ruby| gem_class(ruby, "SpawnError"));
static INTERNAL_ERROR: Lazy<ExceptionClass> = Lazy::new(|ruby| gem_class(ruby, "InternalError"));

/// Looks the error classes up once, at load (see `init`).
pub(crate) fn resolve(ruby: &Ruby) {
    Lazy::force(&SPAWN_ERROR, ruby);
    Lazy::force(&INTERNAL_ERROR, ruby);
}

pub(crate) fn argument_error(ruby: &Ruby, error: &CommandError) -> Error {
    Error::new(ruby.exception_arg_error(), error.to_string())
}

/// `GazetteRunner::SpawnError.new(message, errno, program)`.
pub(crate) fn spawn_error(ruby: &Ruby, error: &SpawnError) -> Error {
    let exception = ruby.get_inner(&SPAWN_ERROR).new_instance((
        error.to_string(),
        error.errno(),
        error.program.clone(),
    ));
    match exception {
        Ok(exception) => Error::from(exception),
        Err(failed) => failed,
    }
}

/// A `GazetteRunner::SpawnError` about the host rather than one program (no
/// descriptors left for the batch's own waker).
pub(crate) fn spawn_failure(ruby: &Ruby, message: &str) -> Error {
    Error::new(ruby.get_inner(&SPAWN_ERROR), message.to_owned())
}

/// A `GazetteRunner::InternalError`: a bug of the gem, reported as a gem error
/// that `rescue GazetteRunner::Error` (and `rescue => e`) catches.
pub(crate) fn internal_error(ruby: &Ruby, what: &str) -> Error {
    Error::new(
        ruby.get_inner(&INTERNAL_ERROR),
        format!("gazette_runner internal error: {what}"),
    )
}

/// True when `error` is a [`internal_error`] (a panic shielded, or a wait loop that panicked).
pub(crate) fn is_internal(ruby: &Ruby, error: &Error) -> bool {
    error
        .value()
        .is_some_and(|exception| exception.is_kind_of(ruby.get_inner(&INTERNAL_ERROR)))
}

/// Runs an entry point so that no Rust panic reaches Ruby (magnus would raise
/// the unrescuable `fatal`): it becomes an [`internal_error`]. Whatever the
/// entry point started is ended on the way out (an `Execution` kills and
/// reaps its group when dropped).
pub(crate) fn shielded<T>(
    ruby: &Ruby,
    entry: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(entry))
        .unwrap_or_else(|_| Err(internal_error(ruby, "a panic in the native extension")))
}
