//! JSON Schema validation (draft 2020-12 unless the schema names another draft
//! with `$schema`), by the maintained `jsonschema` crate. Each distinct schema is
//! compiled once per process and reused.

use std::collections::HashMap;
use std::fmt::{self, Display, Write as _};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use crate::json;

/// Violations a check keeps, in the validator's order; the rest are only
/// counted ([`Violations::total`]). A hostile document can fail a schema once
/// per value it holds; what is kept for the caller stays this small.
pub const MAX_VIOLATIONS: usize = 100;

/// Longest [`Violation::message`] and [`Violation::pointer`], in bytes: a
/// longer one is cut at a character boundary and ends in `…` (within the cap).
pub const MAX_VIOLATION_TEXT_BYTES: usize = 512;

/// Longest excerpt of the offending value quoted in a message, in bytes (its
/// compact JSON, cut the same way).
pub const VALUE_EXCERPT_BYTES: usize = 80;

/// Memory a check may spend listing an invalid document's violations, in
/// bytes, as estimated before it starts. The jsonschema crate builds every
/// violation before the first can be read (about [`BYTES_PER_VIOLATION`] each
/// plus its pointer), and a hostile document can fail once per value, under a
/// long key: past this budget only the first violation is found, and the total
/// is not counted.
pub const LISTING_BUDGET_BYTES: usize = 32 << 20;

/// The estimate of what the validator allocates for each violation besides
/// its pointer (measured: about 350 bytes for a `type` violation).
pub const BYTES_PER_VIOLATION: usize = 400;

/// What a check found: the first [`MAX_VIOLATIONS`] violations and how many
/// there were in all. Nothing kept means the document is valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations {
    /// At most [`MAX_VIOLATIONS`], in the validator's order; only the first
    /// when listing them all would pass [`LISTING_BUDGET_BYTES`].
    pub kept: Vec<Violation>,
    /// How many there were in all, kept or not; `None` when they were too
    /// many to list (there is at least one).
    pub total: Option<usize>,
}

impl Violations {
    /// True when the document satisfies the schema.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

/// One way a document fails its schema. Both texts are at most
/// [`MAX_VIOLATION_TEXT_BYTES`] long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending part of the document (`""` for the root).
    pub pointer: String,
    /// What is wrong, in words.
    pub message: String,
}

/// A compiled schema, cheap to clone and share between threads.
#[derive(Clone)]
pub struct Schema(Arc<jsonschema::Validator>);

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schema")
    }
}

/// The schema itself is not a valid JSON Schema (or not JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON Schema: {0}")]
pub struct SchemaError(pub String);

/// Compiled schemas kept for reuse; past this, the least recently used one is
/// dropped. A process uses a handful of schemas; one built per call (say,
/// with a changing `enum`) must not grow the cache for the life of the worker.
pub const MAX_CACHED_SCHEMAS: usize = 64;

/// Schema text -> (compiled schema, when last used).
#[derive(Default)]
struct Cache {
    entries: HashMap<String, (Schema, u64)>,
    clock: u64,
}

impl Cache {
    fn get(&mut self, text: &str) -> Option<Schema> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(text).map(|(schema, used)| {
            *used = clock;
            schema.clone()
        })
    }

    fn insert(&mut self, text: &str, schema: Schema) {
        if self.entries.len() >= MAX_CACHED_SCHEMAS && !self.entries.contains_key(text) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(text, _)| text.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.entries.insert(text.to_owned(), (schema, self.clock));
    }
}

fn cache() -> std::sync::MutexGuard<'static, Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Schema {
    /// Compiles the schema given as JSON text, or returns the one compiled before
    /// from the same text (the last [`MAX_CACHED_SCHEMAS`] used are kept).
    ///
    /// # Errors
    /// [`SchemaError`] when the text is not JSON or not a valid schema.
    pub fn compiled(text: &str) -> Result<Self, SchemaError> {
        if let Some(schema) = cache().get(text) {
            return Ok(schema);
        }
        // Our own reader, as for documents: a key is a key whatever it spells.
        let document = json::parse(text.as_bytes()).map_err(|e| SchemaError(e.to_string()))?;
        let validator =
            jsonschema::validator_for(&document).map_err(|e| SchemaError(e.to_string()))?;
        let schema = Self(Arc::new(validator));
        cache().insert(text, schema.clone());
        Ok(schema)
    }

    /// How `document` fails the schema: the first [`MAX_VIOLATIONS`] ways,
    /// with texts capped, and the count of all; empty when it is valid.
    #[must_use]
    pub fn check(&self, document: &Value) -> Violations {
        // Valid documents, the common case, never build an error.
        if self.0.is_valid(document) {
            return Violations::default();
        }
        if !listing_fits(document) {
            // The validator stops at the first violation here.
            let first = self.0.validate(document).err().map(|e| violation(&e));
            return Violations {
                kept: vec![first.unwrap_or_else(unnamed)],
                total: None,
            };
        }
        let mut kept = Vec::new();
        let mut total = 0;
        for error in self.0.iter_errors(document) {
            total += 1;
            if kept.len() < MAX_VIOLATIONS {
                kept.push(violation(&error));
            }
        }
        // A validator that calls a document invalid yet names no violation
        // must not pass it.
        if kept.is_empty() {
            kept.push(unnamed());
        }
        Violations {
            total: Some(total.max(1)),
            kept,
        }
    }

    /// Reads `output` as one JSON document and checks that very tree.
    ///
    /// # Errors
    /// As [`json::parse`]: output that is not one JSON document is never valid.
    pub fn check_output(&self, output: &[u8]) -> Result<Violations, json::JsonError> {
        json::parse(output).map(|document| self.check(&document))
    }
}

fn violation(error: &jsonschema::ValidationError<'_>) -> Violation {
    let excerpt = capped(error.instance().as_ref(), VALUE_EXCERPT_BYTES);
    Violation {
        pointer: capped(error.instance_path().as_str(), MAX_VIOLATION_TEXT_BYTES),
        message: capped(error.masked_with(excerpt), MAX_VIOLATION_TEXT_BYTES),
    }
}

fn unnamed() -> Violation {
    Violation {
        pointer: String::new(),
        message: "the document fails the schema".to_owned(),
    }
}

/// Whether listing every violation of `document` stays within
/// [`LISTING_BUDGET_BYTES`], assuming one violation per value, each with the
/// value's pointer. The walk stops as soon as the budget is spent; depth is at
/// most `json::MAX_NESTING`.
fn listing_fits(document: &Value) -> bool {
    fn spend(value: &Value, pointer: usize, budget: &mut usize) -> bool {
        let Some(left) = budget.checked_sub(BYTES_PER_VIOLATION + pointer) else {
            return false;
        };
        *budget = left;
        match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .all(|(index, item)| spend(item, pointer + 1 + digits(index), budget)),
            // A key's `~` and `/` take two bytes in a pointer.
            Value::Object(map) => map
                .iter()
                .all(|(key, item)| spend(item, pointer + 1 + 2 * key.len(), budget)),
            _ => true,
        }
    }
    fn digits(index: usize) -> usize {
        index.checked_ilog10().map_or(1, |log| log as usize + 1)
    }
    spend(document, 0, &mut LISTING_BUDGET_BYTES.clone())
}

/// What `item` displays, at most `limit` bytes of it (`…` included): the
/// writer refuses more, so a huge value is never rendered whole.
fn capped(item: impl Display, limit: usize) -> String {
    const MARK: &str = "…";
    struct Capped {
        text: String,
        room: usize,
        cut: bool,
    }
    impl fmt::Write for Capped {
        fn write_str(&mut self, piece: &str) -> fmt::Result {
            if piece.len() <= self.room - self.text.len() {
                self.text.push_str(piece);
                return Ok(());
            }
            let mut end = self.room - self.text.len();
            while !piece.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&piece[..end]);
            self.cut = true;
            Err(fmt::Error)
        }
    }
    let mut writer = Capped {
        text: String::new(),
        room: limit.saturating_sub(MARK.len()),
        cut: false,
    };
    // Err only when the writer refused more.
    let _ = write!(writer, "{item}");
    if writer.cut {
        writer.text.push_str(MARK);
    }
    writer.text
}

#[cfg(test)]
mod tests {
    use super::{
        Schema, BYTES_PER_VIOLATION, LISTING_BUDGET_BYTES, MAX_CACHED_SCHEMAS, MAX_VIOLATIONS,
        MAX_VIOLATION_TEXT_BYTES,
    };

    const SLICE: &str = r#"{"type": "object", "required": ["page_count", "files"],
        "properties": {"page_count": {"type": "integer", "minimum": 0},
                       "files": {"type": "array", "items": {"type": "string"}}}}"#;

    #[test]
    fn lists_every_violation_with_its_pointer() {
        let schema = Schema::compiled(SLICE).unwrap();
        let document = serde_json::json!({"page_count": -1, "files": ["a", 2]});
        let violations = schema.check(&document);
        assert_eq!(violations.total, Some(2));
        let mut pointers: Vec<String> = violations.kept.into_iter().map(|v| v.pointer).collect();
        pointers.sort();
        assert_eq!(pointers, ["/files/1", "/page_count"]);
    }

    #[test]
    fn accepts_a_valid_document_and_reuses_the_compiled_schema() {
        let first = Schema::compiled(SLICE).unwrap();
        let again = Schema::compiled(SLICE).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first.0, &again.0));
        assert!(first
            .check(&serde_json::json!({"page_count": 1, "files": ["a"]}))
            .is_empty());
    }

    #[test]
    fn keeps_the_most_recently_used_schemas() {
        let kept = Schema::compiled(r#"{"title": "kept", "type": "object"}"#).unwrap();
        for n in 0..2 * MAX_CACHED_SCHEMAS {
            Schema::compiled(&format!(r#"{{"const": {n}}}"#)).unwrap();
            // Used all along, so never the least recently used.
            Schema::compiled(r#"{"title": "kept", "type": "object"}"#).unwrap();
        }
        assert!(super::cache().entries.len() <= MAX_CACHED_SCHEMAS);
        let again = Schema::compiled(r#"{"title": "kept", "type": "object"}"#).unwrap();
        assert!(std::sync::Arc::ptr_eq(&kept.0, &again.0));
        let first = r#"{"const": 0}"#;
        assert!(!super::cache().entries.contains_key(first));
    }

    #[test]
    fn refuses_an_invalid_schema() {
        assert!(Schema::compiled(r#"{"type": 12}"#).is_err());
        assert!(Schema::compiled("not json").is_err());
    }

    #[test]
    fn keeps_the_first_violations_and_counts_them_all() {
        let schema = Schema::compiled(r#"{"items": {"type": "string"}}"#).unwrap();
        let document = format!("[{}1]", "1,".repeat(9_999));
        let violations = schema.check_output(document.as_bytes()).unwrap();
        assert_eq!(violations.total, Some(10_000));
        assert_eq!(violations.kept.len(), MAX_VIOLATIONS);
        assert_eq!(violations.kept[0].pointer, "/0");
    }

    #[test]
    fn past_the_listing_budget_finds_only_the_first_violation() {
        let schema = Schema::compiled(r#"{"items": {"type": "string"}}"#).unwrap();
        let many = LISTING_BUDGET_BYTES / BYTES_PER_VIOLATION;
        let document = format!("[{}1]", "1,".repeat(many));
        let violations = schema.check_output(document.as_bytes()).unwrap();
        assert_eq!(violations.total, None);
        assert_eq!(violations.kept.len(), 1);
        assert_eq!(violations.kept[0].pointer, "/0");
        // One long key under which every value fails: pointers count too.
        let key = "k".repeat(1 << 20);
        let document = format!(r#"{{"a": [{}1]}}"#, "1,".repeat(99)).replace('a', &key);
        let schema =
            Schema::compiled(r#"{"additionalProperties": {"items": {"type": "string"}}}"#).unwrap();
        let violations = schema.check_output(document.as_bytes()).unwrap();
        assert_eq!(violations.total, None);
        assert!(violations.kept[0].pointer.len() <= MAX_VIOLATION_TEXT_BYTES);
    }

    #[test]
    fn caps_messages_and_pointers_with_an_excerpt_of_the_value() {
        let schema = Schema::compiled(
            r#"{"additionalProperties": {"type": "integer"}, "propertyNames": {"maxLength": 5}}"#,
        )
        .unwrap();
        let huge = "x".repeat(1 << 20);
        let document = format!(r#"{{"{huge}": "{huge}"}}"#);
        let violations = schema.check_output(document.as_bytes()).unwrap();
        assert!(violations.kept.len() >= 2, "{violations:?}");
        for violation in &violations.kept {
            assert!(violation.message.len() <= MAX_VIOLATION_TEXT_BYTES);
            assert!(violation.pointer.len() <= MAX_VIOLATION_TEXT_BYTES);
            assert!(violation.message.contains("xxx…"), "{}", violation.message);
        }
        let typed = violations
            .kept
            .iter()
            .find(|v| v.message.contains("integer"))
            .expect("the type violation");
        assert!(
            typed.message.ends_with(r#"is not of type "integer""#),
            "{}",
            typed.message
        );
    }

    #[test]
    fn a_key_spelled_as_serdes_number_token_is_a_key() {
        let bounded = Schema::compiled(
            r#"{"properties": {"amount": {"maximum": 100}}, "additionalProperties": false}"#,
        )
        .unwrap();
        let document = br#"{"amount": 5000, "x": {"$serde_json::private::Number": "zzz"}}"#;
        let violations = bounded.check_output(document).unwrap();
        assert_eq!(violations.total, Some(2), "{violations:?}");
        let integer = Schema::compiled(r#"{"type": "integer"}"#).unwrap();
        assert_eq!(
            integer
                .check_output(br#"{"$serde_json::private::Number": "7"}"#)
                .unwrap()
                .total,
            Some(1)
        );
        assert!(integer
            .check_output(b"123456789012345678901234567890")
            .unwrap()
            .is_empty());
    }
}
