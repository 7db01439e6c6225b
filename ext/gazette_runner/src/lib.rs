//! The Ruby binding of `gazette_runner`: converts arguments, releases the GVL while
//! the core waits, and maps core errors to the Ruby exceptions defined in `lib/`.
//! Policy (defaults, which error wins, result objects) lives in Ruby and in the core.

mod batch;
mod errors;
mod execute;
mod hooks;
mod json;
mod json_visitor;
mod nogvl;
mod outcome;

use magnus::{function, prelude::*, Error, Ruby};

#[magnus::init]
fn init(ruby: &Ruby) -> Result<(), Error> {
    let native = ruby
        .define_module("GazetteRunner")?
        .define_module("Native")?;
    outcome::define(ruby, native)?;
    batch::define(ruby, native)?;
    // magnus looks each class up lazily, under a `OnceLock` whose initialiser
    // calls Ruby, which may switch threads: two threads making their first
    // runs at once deadlock (one holds the lock and waits for the GVL, the
    // other holds the GVL and waits for the lock). Looked up now, while only
    // `require` runs and before any entry point exists, no lock is ever waited on.
    errors::resolve(ruby);
    outcome::resolve(ruby);
    batch::resolve(ruby);
    native.define_module_function("execute", function!(execute::execute, 4))?;
    native.define_module_function("parse_json", function!(parse_json, 3))?;
    native.define_module_function("kill_all_running", function!(execute::kill_all_running, 0))?;
    Ok(())
}

/// [`json::parse_json`] behind the panic shield.
fn parse_json(
    ruby: &Ruby,
    output: magnus::RString,
    schema: Option<magnus::RString>,
    symbolize_names: bool,
) -> Result<magnus::RArray, Error> {
    errors::shielded(ruby, || {
        json::parse_json(ruby, output, schema, symbolize_names)
    })
}
