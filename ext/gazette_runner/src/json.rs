//! `GazetteRunner::Native.parse_json`: output bytes to Ruby objects, through the
//! core's JSON and schema validation. Raises nothing about the document itself;
//! it answers what it found and the Ruby layer picks the error.

use gazette_runner_core::json::{self, JsonError};
use gazette_runner_core::schema::Schema;
use magnus::rb_sys::FromRawValue;
use magnus::{prelude::*, Error, IntoValue, RArray, RString, Ruby, Value};
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
    // SAFETY: the output is only read during this call, which runs no Ruby code until parsing is done.
    let parsed = json::parse(unsafe { output.as_slice() });
    let answer = |tag: &str, rest: &[Value]| {
        let array = ruby.ary_new_capa(rest.len() + 1);
        array.push(ruby.to_symbol(tag))?;
        rest.iter().try_for_each(|v| array.push(*v))?;
        Ok(array)
    };
    let document = match parsed {
        Ok(document) => document,
        Err(JsonError::Empty) => return answer("empty", &[]),
        Err(JsonError::Invalid {
            message,
            line,
            column,
            excerpt,
        }) => {
            return answer(
                "invalid",
                &[
                    ruby.str_new(&message).as_value(),
                    line.into_value_with(ruby),
                    column.into_value_with(ruby),
                    ruby.str_new(&excerpt).as_value(),
                ],
            )
        }
    };
    if let Some(schema) = schema {
        let violations = schema.violations(&document);
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
    }
    answer("ok", &[to_ruby(ruby, &document, symbolize_names)?])
}

/// Converts as Ruby's `JSON.parse` would. Depth is at most 100 (checked by the
/// core), so recursion is safe.
fn to_ruby(ruby: &Ruby, value: &Json, symbolize_names: bool) -> Result<Value, Error> {
    Ok(match value {
        Json::Null => ruby.qnil().as_value(),
        Json::Bool(flag) => flag.into_value_with(ruby),
        Json::Number(number) => number_to_ruby(ruby, number.as_str())?,
        Json::String(text) => ruby.str_new(text).as_value(),
        Json::Array(items) => {
            let array = ruby.ary_new_capa(items.len());
            for item in items {
                array.push(to_ruby(ruby, item, symbolize_names)?)?;
            }
            array.as_value()
        }
        Json::Object(map) => {
            let hash = ruby.hash_new();
            for (key, item) in map {
                let item = to_ruby(ruby, item, symbolize_names)?;
                if symbolize_names {
                    hash.aset(ruby.to_symbol(key), item)?;
                } else {
                    hash.aset(ruby.str_new(key), item)?;
                }
            }
            hash.as_value()
        }
    })
}

/// From the number's literal: integers of any size stay exact (`-0` is `0`),
/// floats are correctly rounded, and out-of-range floats become ±Infinity.
fn number_to_ruby(ruby: &Ruby, literal: &str) -> Result<Value, Error> {
    if literal.contains(['.', 'e', 'E']) {
        let float: f64 = literal
            .parse()
            .map_err(|_| Error::new(ruby.exception_arg_error(), "bad number"))?;
        return Ok(ruby.float_from_f64(float).as_value());
    }
    if let Ok(small) = literal.parse::<i64>() {
        return Ok(ruby.integer_from_i64(small).as_value());
    }
    let digits = std::ffi::CString::new(literal)
        .map_err(|_| Error::new(ruby.exception_arg_error(), "bad number"))?;
    // SAFETY: a NUL-terminated string of decimal digits with an optional sign.
    let big = unsafe { rb_sys::rb_cstr2inum(digits.as_ptr(), 10) };
    // SAFETY: rb_cstr2inum returns a valid Integer VALUE.
    Ok(unsafe { Value::from_raw(big) })
}
