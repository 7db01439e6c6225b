//! `GazetteRunner::Native.parse_json`: output bytes to Ruby objects, through the
//! core's JSON reader and schema validation. Raises nothing about the document
//! itself; it answers what it found and the Ruby layer picks the error.
//!
//! One document, one truth: the tree the schema checks and the Ruby objects
//! returned are made by the same reader from the same bytes, so they are the
//! same document; a document the reader refuses is `:invalid` on both sides,
//! never a pass.

use crate::errors::internal_error;
use crate::json_visitor;
use gazette_runner_core::json::{self, JsonError};
use gazette_runner_core::schema::{Schema, Violations};
use magnus::{prelude::*, Error, IntoValue, RArray, RString, Ruby, Value};
use serde_json::Value as Json;

/// Parses `output` (and checks it against `schema`, JSON text, when given). Returns
/// `[:ok, object]`, `[:empty]`, `[:invalid, message, line, column, excerpt]` or
/// `[:schema, [[pointer, message], ...], total]`: the first violations (at most
/// `schema::MAX_VIOLATIONS`, texts capped) and how many there were in all (nil
/// when too many to count: see `schema::LISTING_BUDGET_BYTES`).
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
    // SAFETY: `output` is an argument, so on this frame's stack: alive and
    // pinned against compaction. Nothing below runs Ruby code that could change
    // it before the last read (the builder allocates, but calls no methods).
    let bytes = unsafe { output.as_slice() };
    let (parsed, violations) = match schema {
        // SAFETY: as just above.
        None => (
            unsafe { json_visitor::parse(bytes, symbolize_names)? },
            None,
        ),
        // SAFETY: as just above.
        Some(schema) if bytes.len() >= PARALLEL_VALIDATION_BYTES => unsafe {
            build_while_validating(ruby, bytes, &schema, symbolize_names)?
        },
        Some(schema) => match schema.check_output(bytes) {
            Err(error) => (Err(error), None),
            Ok(violations) if violations.is_empty() => {
                // SAFETY: as just above.
                (
                    unsafe { json_visitor::parse(bytes, symbolize_names)? },
                    None,
                )
            }
            // Not built: the answer is the violations.
            Ok(violations) => (Ok(ruby.qnil().as_value()), Some(violations)),
        },
    };
    answer(ruby, parsed, violations)
}

fn answer(
    ruby: &Ruby,
    parsed: Result<Value, JsonError>,
    violations: Option<Violations>,
) -> Result<RArray, Error> {
    let tagged = |tag: &str, rest: &[Value]| {
        let array = ruby.ary_new_capa(rest.len() + 1);
        array.push(ruby.to_symbol(tag))?;
        rest.iter().try_for_each(|v| array.push(*v))?;
        Ok(array)
    };
    match (parsed, violations) {
        (Ok(object), None) => tagged("ok", &[object]),
        (Ok(_), Some(violations)) => {
            let list = ruby.ary_new_capa(violations.kept.len());
            for violation in violations.kept {
                list.push(ruby.ary_new_from_values(&[
                    ruby.str_new(&violation.pointer).as_value(),
                    ruby.str_new(&violation.message).as_value(),
                ]))?;
            }
            tagged(
                "schema",
                &[list.as_value(), violations.total.into_value_with(ruby)],
            )
        }
        (Err(JsonError::Empty), _) => tagged("empty", &[]),
        (
            Err(JsonError::Invalid {
                message,
                line,
                column,
                excerpt,
            }),
            _,
        ) => tagged(
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
/// while this one builds the Ruby objects from the same bytes with the same
/// reader; below it, a thread costs more than it saves.
const PARALLEL_VALIDATION_BYTES: usize = 256 * 1024;

/// What [`parse_json`] found: the document (or why it is none), and the
/// violations when there are any.
type Found = (Result<Value, JsonError>, Option<Violations>);

/// Builds the Ruby objects on this thread while another reads the same bytes
/// into a `serde_json::Value` (the jsonschema crate validates only that type)
/// and validates it, then drops it: the added wall time is what validation
/// takes beyond building, not read + validate + build in sequence. The objects
/// are garbage when the document fails its schema.
///
/// # Safety
/// As `json_visitor::parse`: the GVL is held and `bytes` stay unchanged.
unsafe fn build_while_validating(
    ruby: &Ruby,
    bytes: &[u8],
    schema: &Schema,
    symbolize_names: bool,
) -> Result<Found, Error> {
    let (built, checked) = std::thread::scope(|scope| {
        let validator = std::thread::Builder::new()
            .name("gazette-json-check".into())
            .spawn_scoped(scope, || {
                json::parse(bytes).map(|document| {
                    let violations = schema.check(&document);
                    drop_unwaited(document);
                    violations
                })
            });
        // SAFETY: the caller's promise; the validator only reads `bytes` too.
        let built = unsafe { json_visitor::parse(bytes, symbolize_names) };
        let checked = match validator {
            Ok(handle) => handle.join().map_err(drop),
            // No thread could start (thread or memory limits): validate here.
            Err(_) => Ok(schema.check_output(bytes)),
        };
        (built, checked)
    });
    let checked = checked.map_err(|()| internal_error(ruby, "JSON Schema validation panicked"))?;
    Ok(match (built?, checked) {
        (Err(error), _) | (Ok(_), Err(error)) => (Err(error), None),
        (Ok(object), Ok(violations)) if violations.is_empty() => (Ok(object), None),
        (Ok(object), Ok(violations)) => (Ok(object), Some(violations)),
    })
}

/// Frees a validated tree on a detached thread: freeing millions of small
/// allocations takes a good part of the time reading them did, and no caller
/// needs to wait for it. Should no thread start, it is freed here.
fn drop_unwaited(document: Json) {
    // On failure `spawn` drops the closure, and the document with it, here.
    let _ = std::thread::Builder::new()
        .name("gazette-json-free".into())
        .spawn(move || drop(document));
}
