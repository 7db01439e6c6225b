//! `GazetteRunner::Native.parse_json`: output bytes to Ruby objects, through the
//! core's JSON and schema validation. Raises nothing about the document itself;
//! it answers what it found and the Ruby layer picks the error.

use crate::errors::internal_error;
use crate::json_visitor::{self, build};
use gazette_runner_core::json::{self, JsonError};
use gazette_runner_core::schema::{Schema, Violation};
use magnus::rb_sys::{protect, FromRawValue};
use magnus::{prelude::*, Error, IntoValue, RArray, RString, Ruby, Value};
use rb_sys::VALUE;
use serde_json::Value as Json;

/// Parses `output` (and checks it against `schema`, JSON text, when given). Returns
/// `[:ok, object]`, `[:empty]`, `[:invalid, message, line, column, excerpt]` or
/// `[:schema, [[pointer, message], ...]]`.
pub(crate) fn parse_json(
    ruby: &Ruby,
    output: RString,
    schema: Option<RString>,
    symbolize_names: bool,
) -> Result<RArray, Error> {
    let schema = match schema {
        // SAFETY: the schema text is read before any Ruby code runs.
        Some(text) => Some(
            Schema::compiled(&String::from_utf8_lossy(unsafe { text.as_slice() }))
                .map_err(|e| Error::new(ruby.exception_arg_error(), e.to_string()))?,
        ),
        None => None,
    };
    let answer = |tag: &str, rest: &[Value]| {
        let array = ruby.ary_new_capa(rest.len() + 1);
        array.push(ruby.to_symbol(tag))?;
        rest.iter().try_for_each(|v| array.push(*v))?;
        Ok(array)
    };
    // SAFETY: `output` is an argument, so on this frame's stack: alive and
    // pinned against compaction. Nothing below runs Ruby code that could change
    // it before the last read (the visitor allocates, but calls no methods).
    let bytes = unsafe { output.as_slice() };
    let parsed = match schema {
        // SAFETY: as just above.
        None => unsafe { json_visitor::parse(bytes, symbolize_names)? },
        Some(schema) => {
            let (parsed, violations) = if bytes.len() >= PARALLEL_VALIDATION_BYTES {
                // SAFETY: as just above.
                unsafe { build_while_validating(ruby, bytes, &schema, symbolize_names)? }
            } else {
                let violations = violations_of(bytes, &schema);
                let parsed = if violations.is_empty() {
                    // SAFETY: as just above.
                    unsafe { json_visitor::parse(bytes, symbolize_names)? }
                } else {
                    Ok(ruby.qnil().as_value()) // not built: the answer is the violations
                };
                (parsed, violations)
            };
            if !violations.is_empty() {
                let list = ruby.ary_new_capa(violations.len());
                for violation in violations {
                    list.push(ruby.ary_new_from_values(&[
                        ruby.str_new(&violation.pointer).as_value(),
                        ruby.str_new(&violation.message).as_value(),
                    ]))?;
                }
                return answer("schema", &[list.as_value()]);
            }
            parsed
        }
    };
    match parsed {
        Ok(object) => answer("ok", &[object]),
        Err(JsonError::Empty) => answer("empty", &[]),
        Err(JsonError::Invalid {
            message,
            line,
            column,
            excerpt,
        }) => answer(
            "invalid",
            &[
                ruby.str_new(&message).as_value(),
                line.into_value_with(ruby),
                column.into_value_with(ruby),
                ruby.str_new(&excerpt).as_value(),
            ],
        ),
    }
}

/// From this size on, a document with a schema is validated on a second thread
/// while this one builds the Ruby objects straight from the bytes, as without
/// a schema; below it, a thread costs more than it saves.
const PARALLEL_VALIDATION_BYTES: usize = 256 * 1024;

/// Builds the Ruby objects on this thread while another parses the same bytes
/// into a `serde_json::Value` and validates it (the jsonschema crate validates
/// only that type), then drops it: the added wall time is what validation
/// takes beyond building, not parse + validate + convert in sequence. The
/// objects are garbage when the document fails its schema.
///
/// # Safety
/// As `json_visitor::parse`: the GVL is held and `bytes` stay unchanged.
unsafe fn build_while_validating(
    ruby: &Ruby,
    bytes: &[u8],
    schema: &Schema,
    symbolize_names: bool,
) -> Result<(Result<Value, JsonError>, Vec<Violation>), Error> {
    let (built, checked) = std::thread::scope(|scope| {
        let validator = std::thread::Builder::new()
            .name("gazette-json-check".into())
            .spawn_scoped(scope, || match json::parse(bytes) {
                Ok(document) => {
                    let violations = schema.violations(&document);
                    drop_unwaited(document);
                    violations
                }
                Err(_) => Vec::new(),
            });
        // SAFETY: the caller's promise; the validator only reads `bytes` too.
        let built = unsafe { json_visitor::parse(bytes, symbolize_names) };
        let checked = match validator {
            Ok(handle) => handle.join().map_err(drop),
            // No thread could start (thread or memory limits): validate here.
            Err(_) => Ok(violations_of(bytes, schema)),
        };
        (built, checked)
    });
    let violations =
        checked.map_err(|()| internal_error(ruby, "JSON Schema validation panicked"))?;
    Ok((built?, violations))
}

/// What `schema` finds wrong with the document. The jsonschema crate validates
/// only a `serde_json::Value`, so this parses one just for that and drops it;
/// the Ruby objects are always built from the bytes, in their key order. A
/// document that is not JSON has no violations: the builder reports its error.
fn violations_of(bytes: &[u8], schema: &Schema) -> Vec<Violation> {
    json::parse(bytes).map_or_else(|_| Vec::new(), |document| schema.violations(&document))
}

/// Frees a validated tree on a detached thread: freeing millions of small
/// allocations takes a good part of the time parsing them did, and no caller
/// needs to wait for it. Should no thread start, it is freed here.
fn drop_unwaited(document: Json) {
    // On failure `spawn` drops the closure, and the document with it, here.
    let _ = std::thread::Builder::new()
        .name("gazette-json-free".into())
        .spawn(move || drop(document));
}

/// Converts as Ruby's `JSON.parse` would, under one protect: the builders
/// can raise nothing but `NoMemoryError` (see `json_visitor::build`), and these
/// frames own nothing that needs dropping if it does.
pub(crate) fn to_ruby(value: &Json, symbolize_names: bool) -> Result<Value, Error> {
    // SAFETY: called with the GVL, inside protect, as `build` requires.
    let object = protect(|| unsafe { convert(value, symbolize_names) })?;
    // SAFETY: a VALUE just built, still on our stack.
    Ok(unsafe { Value::from_raw(object) })
}

/// Depth is at most 100 (checked by the core), so recursion is safe. Each
/// container is a local of its frame while its children are built.
unsafe fn convert(value: &Json, symbolize_names: bool) -> VALUE {
    match value {
        Json::Null => rb_sys::Qnil as VALUE,
        Json::Bool(true) => rb_sys::Qtrue as VALUE,
        Json::Bool(false) => rb_sys::Qfalse as VALUE,
        Json::Number(number) => build::number(number.as_str()),
        Json::String(text) => build::string(text),
        Json::Array(items) => {
            let array = build::array(items.len());
            for item in items {
                build::push(array, convert(item, symbolize_names));
            }
            array
        }
        Json::Object(map) => {
            let hash = build::hash();
            for (key, item) in map {
                let key = build::key(key, symbolize_names);
                build::aset(hash, key, convert(item, symbolize_names));
            }
            hash
        }
    }
}
