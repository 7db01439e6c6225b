//! JSON Schema validation (draft 2020-12 unless the schema names another draft
//! with `$schema`), by the maintained `jsonschema` crate. Each distinct schema is
//! compiled once per process and reused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

/// One way a document fails its schema.
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

fn cache() -> &'static Mutex<HashMap<String, Schema>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Schema>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

impl Schema {
    /// Compiles the schema given as JSON text, or returns the one compiled before
    /// from the same text.
    ///
    /// # Errors
    /// [`SchemaError`] when the text is not JSON or not a valid schema.
    pub fn compiled(text: &str) -> Result<Self, SchemaError> {
        if let Some(schema) = cache()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(text)
        {
            return Ok(schema.clone());
        }
        let document: Value = serde_json::from_str(text).map_err(|e| SchemaError(e.to_string()))?;
        let validator =
            jsonschema::validator_for(&document).map_err(|e| SchemaError(e.to_string()))?;
        let schema = Self(Arc::new(validator));
        cache()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(text.to_owned(), schema.clone());
        Ok(schema)
    }

    /// Every way `document` fails the schema; empty when it is valid.
    #[must_use]
    pub fn violations(&self, document: &Value) -> Vec<Violation> {
        self.0
            .iter_errors(document)
            .map(|error| Violation {
                pointer: error.instance_path().as_str().to_owned(),
                message: error.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Schema;

    const SLICE: &str = r#"{"type": "object", "required": ["page_count", "files"],
        "properties": {"page_count": {"type": "integer", "minimum": 0},
                       "files": {"type": "array", "items": {"type": "string"}}}}"#;

    #[test]
    fn lists_every_violation_with_its_pointer() {
        let schema = Schema::compiled(SLICE).unwrap();
        let document = serde_json::json!({"page_count": -1, "files": ["a", 2]});
        let mut pointers: Vec<String> = schema
            .violations(&document)
            .into_iter()
            .map(|v| v.pointer)
            .collect();
        pointers.sort();
        assert_eq!(pointers, ["/files/1", "/page_count"]);
    }

    #[test]
    fn accepts_a_valid_document_and_reuses_the_compiled_schema() {
        let first = Schema::compiled(SLICE).unwrap();
        let again = Schema::compiled(SLICE).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first.0, &again.0));
        assert!(first
            .violations(&serde_json::json!({"page_count": 1, "files": ["a"]}))
            .is_empty());
    }

    #[test]
    fn refuses_an_invalid_schema() {
        assert!(Schema::compiled(r#"{"type": 12}"#).is_err());
        assert!(Schema::compiled("not json").is_err());
    }
}
