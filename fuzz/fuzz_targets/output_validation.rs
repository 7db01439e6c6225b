//! A program's output, any bytes at all, through the same path `run_json` and
//! `slice_gazette` take: `json::parse`, then the slice contract's schema.

#![no_main]

use gazette_runner_core::json::{self, JsonError, EXCERPT_BYTES, MAX_NESTING};
use gazette_runner_core::schema::{Schema, Violation, MAX_VIOLATIONS, MAX_VIOLATION_TEXT_BYTES};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// `GazetteRunner::SliceContract::SCHEMA` (lib/gazette_runner/slice_contract.rb),
/// the schema real callers send, so the fuzzer explores the validator paths
/// that matter in production.
const SLICE_SCHEMA: &str = r#"{
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["page_count", "files"],
    "properties": {
        "page_count": {"type": "integer", "minimum": 0},
        "files": {"type": "array", "items": {"type": "string", "minLength": 1}}
    }
}"#;

const BOM: &[u8] = b"\xEF\xBB\xBF";

fuzz_target!(|data: &[u8]| {
    let parsed = json::parse(data);
    check_blank(data, &parsed);
    check_bom_is_transparent(data, &parsed);
    match &parsed {
        Ok(value) => {
            check_depth(value);
            check_round_trip(value);
            check_schema(value);
        }
        Err(error) => check_error(data, error),
    }
});

/// Blank output must be told apart from broken output: callers report "the
/// program printed nothing" differently from a syntax error.
fn check_blank(data: &[u8], parsed: &Result<Value, JsonError>) {
    let text = data.strip_prefix(BOM).unwrap_or(data);
    if text.iter().all(|b| b" \t\n\r".contains(b)) {
        assert_eq!(parsed, &Err(JsonError::Empty), "JSON whitespace only");
    }
    if parsed == &Err(JsonError::Empty) {
        assert!(
            text.iter().all(|b| b" \t\n\r".contains(b)),
            "Empty for output with a byte that is not JSON whitespace"
        );
    }
}

/// Windows tools prefix a BOM; it must change nothing, not even error positions.
fn check_bom_is_transparent(data: &[u8], parsed: &Result<Value, JsonError>) {
    if data.starts_with(BOM) {
        return;
    }
    let with_bom = [BOM, data].concat();
    assert_eq!(
        &json::parse(&with_bom),
        parsed,
        "a leading BOM changed the result"
    );
}

/// Ruby's `max_nesting` is the contract; serde_json's own limit (128) is not.
fn check_depth(value: &Value) {
    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    assert!(
        depth(value) <= MAX_NESTING,
        "accepted a document nested too deep"
    );
}

/// What we accept must survive being written out and read back unchanged,
/// numbers included (their literals are kept, not rounded through f64).
fn check_round_trip(value: &Value) {
    for text in [
        serde_json::to_vec(value).expect("a parsed Value serialises"),
        serde_json::to_vec_pretty(value).expect("a parsed Value serialises"),
    ] {
        assert_eq!(
            json::parse(&text).as_ref(),
            Ok(value),
            "re-serialised document did not parse back equal: {:?}",
            String::from_utf8_lossy(&text)
        );
    }
}

fn check_schema(value: &Value) {
    let schema = Schema::compiled(SLICE_SCHEMA).expect("the slice schema compiles");
    let violations = schema.check(value);
    assert!(violations.kept.len() <= MAX_VIOLATIONS, "too many violations kept");
    for Violation { pointer, message } in &violations.kept {
        assert!(pointer.len() <= MAX_VIOLATION_TEXT_BYTES && message.len() <= MAX_VIOLATION_TEXT_BYTES);
        // Callers show the pointer to the user; it must name a real place
        // (unless it was cut to its cap).
        assert!(
            pointer.ends_with('…') || value.pointer(pointer).is_some(),
            "violation pointer {pointer:?} is not in the document"
        );
        assert!(
            !message.is_empty(),
            "violation at {pointer:?} has no message"
        );
    }
    if let Some(valid) = slice_answer_is_valid(value) {
        assert_eq!(
            violations.is_empty(),
            valid,
            "schema verdict disagrees with the contract: {violations:?}"
        );
    }
}

/// The slice contract checked by hand, as an independent oracle for the
/// validator. `None` where JSON Schema's notion of "integer" is subtle (a
/// fraction or exponent, as in `2.0` or `1e2`), so only clear cases are judged.
fn slice_answer_is_valid(value: &Value) -> Option<bool> {
    let Some(object) = value.as_object() else {
        return Some(false);
    };
    let (Some(page_count), Some(files)) = (object.get("page_count"), object.get("files")) else {
        return Some(false);
    };
    let files_valid = files.as_array().is_some_and(|files| {
        files
            .iter()
            .all(|f| f.as_str().is_some_and(|s| !s.is_empty()))
    });
    if !files_valid {
        return Some(false);
    }
    let Value::Number(number) = page_count else {
        return Some(false);
    };
    // arbitrary_precision: Display gives the literal as printed, any size.
    let literal = number.to_string();
    let (negative, digits) = match literal.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, literal.as_str()),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(!negative || digits.bytes().all(|b| b == b'0'))
}

/// Error details go into the exception Ruby raises; they must point inside
/// the output and stay short whatever the output holds.
fn check_error(data: &[u8], error: &JsonError) {
    let JsonError::Invalid {
        message,
        line,
        excerpt,
        ..
    } = error
    else {
        return;
    };
    let text = data.strip_prefix(BOM).unwrap_or(data);
    let lines = 1 + text.iter().filter(|&&b| b == b'\n').count();
    assert!(!message.is_empty(), "error without a message");
    assert!(
        (1..=lines).contains(line),
        "error on line {line} of a {lines}-line output"
    );
    assert!(
        excerpt.chars().count() <= EXCERPT_BYTES,
        "excerpt longer than its window: {excerpt:?}"
    );
}
