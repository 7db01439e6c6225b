//! Core errors as Ruby exceptions. The classes are defined in Ruby
//! (`lib/gazette_runner/errors.rb`) and looked up when first needed.

use gazette_runner_core::{CommandError, SpawnError};
use magnus::{prelude::*, Error, Exception, RClass, RModule, Ruby, TryConvert};

fn gem_class(ruby: &Ruby, name: &str) -> Result<RClass, Error> {
    ruby.class_object()
        .const_get::<_, RModule>("GazetteRunner")?
        .const_get::<_, RClass>(name)
}

pub(crate) fn argument_error(ruby: &Ruby, error: &CommandError) -> Error {
    Error::new(ruby.exception_arg_error(), error.to_string())
}

/// `GazetteRunner::SpawnError.new(message, errno, program)`.
pub(crate) fn spawn_error(ruby: &Ruby, error: &SpawnError) -> Error {
    let exception = gem_class(ruby, "SpawnError")
        .and_then(|class| {
            class.new_instance((error.to_string(), error.errno(), error.program.clone()))
        })
        .and_then(Exception::try_convert);
    match exception {
        Ok(exception) => Error::from(exception),
        Err(failed) => failed,
    }
}

pub(crate) fn internal_error(ruby: &Ruby, what: &str) -> Error {
    Error::new(
        ruby.exception_runtime_error(),
        format!("gazette_runner internal error: {what}"),
    )
}
