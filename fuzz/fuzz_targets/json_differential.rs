//! One document, one truth (issue 13): for any output, the document the core
//! returns, written out again, gets the same verdict from every schema as the
//! output's own bytes, and reads back as the same document. The Ruby objects
//! `run_json` returns are built by the same reader (`json::parse_with`), so
//! what holds for the core's tree holds for them; `spec/hostile/` compares
//! them with `JSON.parse`.
//!
//! The seeds and the dictionary are full of serde_json's private token strings
//! (`$serde_json::private::Number`, `…::RawValue`) as keys and values: with
//! `arbitrary_precision`, serde's own parser reads such a key as a number.

#![no_main]

use gazette_runner_core::json;
use gazette_runner_core::schema::{Schema, Violations};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Schemas whose verdict depends on keys, types, numbers and nesting.
const SCHEMAS: &[&str] = &[
    r#"{"properties": {"amount": {"maximum": 100}}, "additionalProperties": false}"#,
    r#"{"type": "integer"}"#,
    r#"{"type": "object", "additionalProperties": {"type": ["string", "array"]}}"#,
    r#"{"items": {"type": "string"}, "propertyNames": {"maxLength": 8}}"#,
    r#"{"type": "object", "required": ["page_count", "files"],
        "properties": {"page_count": {"type": "integer", "minimum": 0},
                       "files": {"type": "array", "items": {"type": "string", "minLength": 1}}}}"#,
    r#"{"not": {"type": "number", "multipleOf": 7}}"#,
];

const TOKEN_PREFIX: &str = "$serde_json::private::";

fuzz_target!(|data: &[u8]| {
    let Ok(document) = json::parse(data) else {
        // Refused bytes are refused under every schema: never a pass.
        for text in SCHEMAS {
            let schema = Schema::compiled(text).expect("the schema compiles");
            assert!(schema.check_output(data).is_err(), "refused output passed a schema");
        }
        return;
    };
    let written = serde_json::to_vec(&document).expect("a parsed Value serialises");
    assert_eq!(
        json::parse(&written).as_ref(),
        Ok(&document),
        "the written document reads back differently: {:?}",
        String::from_utf8_lossy(&written)
    );
    for text in SCHEMAS {
        let schema = Schema::compiled(text).expect("the schema compiles");
        let verdict = schema.check(&document);
        assert_eq!(
            verdict_of(schema.check_output(data)),
            verdict_of(Ok(verdict.clone())),
            "the bytes and their document get different verdicts from {text}"
        );
        assert_eq!(
            verdict_of(schema.check_output(&written)),
            verdict_of(Ok(verdict)),
            "the document written out gets another verdict from {text}"
        );
    }
    // serde_json's own reader, where no private token is involved, must
    // agree on what the document is.
    // (An escaped key decodes to a token too, so the document is searched.)
    if !mentions_token(&document) {
        if let Ok(theirs) = serde_json::from_slice::<Value>(strip_bom(data)) {
            assert_eq!(theirs, document, "serde_json reads another document");
        }
    }
});

/// Valid, or how many violations (their texts are checked by unit tests).
fn verdict_of(checked: Result<Violations, json::JsonError>) -> Option<(usize, Option<usize>)> {
    let violations = checked.expect("a document that parsed once parses again");
    (!violations.is_empty()).then(|| (violations.kept.len(), violations.total))
}

fn mentions_token(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains(TOKEN_PREFIX),
        Value::Array(items) => items.iter().any(mentions_token),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| key.contains(TOKEN_PREFIX) || mentions_token(item)),
        _ => false,
    }
}

fn strip_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)
}
