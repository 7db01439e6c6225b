//! The Ruby binding of `gazette_runner`: converts arguments, releases the GVL while
//! the core waits, and maps core errors to the Ruby exceptions defined in `lib/`.
//! Policy (defaults, which error wins, result objects) lives in Ruby and in the core.

mod breaker;
mod errors;
mod execute;
mod hooks;
mod json;
mod json_visitor;
mod nogvl;

use magnus::{function, prelude::*, Error, Ruby};

#[magnus::init]
fn init(ruby: &Ruby) -> Result<(), Error> {
    let native = ruby
        .define_module("GazetteRunner")?
        .define_module("Native")?;
    native.define_module_function("execute", function!(execute::execute, 11))?;
    native.define_module_function("parse_json", function!(json::parse_json, 3))?;
    native.define_module_function("breaker_admit", function!(breaker::admit, 3))?;
    native.define_module_function("breaker_record", function!(breaker::record, 3))?;
    native.define_module_function("breaker_snapshot", function!(breaker::snapshot, 1))?;
    native.define_module_function("breaker_reset", function!(breaker::reset, 1))?;
    native.define_module_function("kill_all_running", function!(execute::kill_all_running, 0))?;
    Ok(())
}
