//! The Ruby binding of `gazette_runner`: converts arguments, releases the GVL while
//! the core waits, and maps core errors to the Ruby exceptions defined in `lib/`.
//! Policy (defaults, which error wins, result objects) lives in Ruby and in the core.

mod batch;
mod errors;
mod execute;
mod hooks;
mod json;
mod json_visitor;
mod ledger;
mod live_progress;
mod nogvl;
mod result;
mod running;

use magnus::{function, prelude::*, Error, Ruby};

#[magnus::init]
fn init(ruby: &Ruby) -> Result<(), Error> {
    let native = ruby
        .define_module("GazetteRunner")?
        .define_module("Native")?;
    live_progress::define(ruby, native)?;
    batch::define(ruby, native)?;
    // magnus looks each class up lazily, under a `OnceLock` whose initialiser
    // calls Ruby, which may switch threads: two threads making their first
    // runs at once deadlock (one holds the lock and waits for the GVL, the
    // other holds the GVL and waits for the lock). Looked up now, while only
    // `require` runs and before any entry point exists, no lock is ever waited on.
    errors::resolve(ruby);
    live_progress::resolve(ruby);
    result::resolve(ruby);
    ledger::resolve(ruby);
    batch::resolve(ruby);
    running::define(ruby, native)?;
    ledger::define(native)?;
    native.define_module_function("execute", function!(execute::execute, 4))?;
    native.define_module_function("run", function!(execute::run_plain, 4))?;
    native.define_module_function("parse_json", function!(parse_json, 3))?;
    native.define_module_function("kill_all_running", function!(execute::kill_all_running, 0))?;
    native.define_module_function("after_fork", function!(after_fork, 0))?;
    Ok(())
}

/// `Native.after_fork`, in a forked child: the parent's running programs and
/// stats records are not the child's (nor kept alive by it).
fn after_fork() {
    running::forget_parent();
    ledger::forget_parent();
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
