//! Validating a program's output as exactly one JSON document, the way Ruby's
//! `JSON.parse` (json 2.6) reads it, with deliberate differences: a UTF-8
//! byte-order mark is accepted, invalid UTF-8 is rejected, and so are the
//! `/* */` and `//` comments that json 2.6 tolerates (they are not JSON).

use serde_json::Value;

/// Ruby's `JSON.parse` refuses documents nested deeper than this (`max_nesting`).
pub const MAX_NESTING: usize = 100;

/// Bytes of raw output shown around the point where parsing failed.
const EXCERPT_BYTES: usize = 40;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why output is not a usable JSON document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Nothing but whitespace.
    #[error("the output is empty")]
    Empty,
    /// Not exactly one JSON document.
    #[error("{message} at line {line}, column {column}: {excerpt:?}")]
    Invalid {
        /// What the parser found wrong.
        message: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in bytes) of the error.
        column: usize,
        /// A short piece of the output around the error.
        excerpt: String,
    },
}

/// Parses `output` as exactly one JSON document.
///
/// Numbers keep their literal (`serde_json`'s `arbitrary_precision`), so a caller
/// can turn integers of any size and floats into exact values.
///
/// # Errors
/// [`JsonError::Empty`] for blank output, [`JsonError::Invalid`] for anything
/// that is not one document: syntax errors, trailing garbage, invalid UTF-8,
/// or nesting deeper than [`MAX_NESTING`] (hostile depths are refused by the
/// parser's own recursion limit, never by a stack overflow).
pub fn parse(output: &[u8]) -> Result<Value, JsonError> {
    let text = document_text(output)?;
    let value: Value = serde_json::from_slice(text)
        .map_err(|e| invalid(text, &e.to_string(), e.line(), e.column()))?;
    if too_deep(&value) {
        return Err(JsonError::Invalid {
            message: format!(
                "nesting of {} is too deep (at most {MAX_NESTING})",
                MAX_NESTING + 1
            ),
            line: 1,
            column: 1,
            excerpt: excerpt(text, 1, 1),
        });
    }
    Ok(value)
}

/// The text a parser should read: `output` without its UTF-8 byte-order mark.
/// Shared with callers that parse the text themselves, so that they agree with
/// [`parse`] on what is blank.
///
/// # Errors
/// [`JsonError::Empty`] when nothing but JSON whitespace remains.
pub fn document_text(output: &[u8]) -> Result<&[u8], JsonError> {
    let text = output.strip_prefix(BOM).unwrap_or(output);
    // JSON's own whitespace only: a form feed is not blank, it is invalid.
    if text
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Err(JsonError::Empty);
    }
    Ok(text)
}

fn invalid(text: &[u8], full_message: &str, line: usize, column: usize) -> JsonError {
    // serde_json appends " at line L column C"; we report those as fields.
    let message = full_message
        .split(" at line ")
        .next()
        .unwrap_or(full_message)
        .to_owned();
    JsonError::Invalid {
        message,
        line,
        column,
        excerpt: excerpt(text, line, column),
    }
}

/// The bytes around (line, column), lossily decoded.
fn excerpt(text: &[u8], line: usize, column: usize) -> String {
    let line_start = text
        .split_inclusive(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(<[u8]>::len)
        .sum::<usize>();
    let at = (line_start + column.saturating_sub(1)).min(text.len());
    let start = at.saturating_sub(EXCERPT_BYTES / 2);
    let end = (start + EXCERPT_BYTES).min(text.len());
    String::from_utf8_lossy(&text[start..end]).into_owned()
}

/// True when the document is nested deeper than [`MAX_NESTING`]. The parser
/// already stopped anything past its recursion limit (128), so the walk is shallow.
fn too_deep(value: &Value) -> bool {
    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
    depth(value) > MAX_NESTING
}

#[cfg(test)]
mod tests {
    use super::{document_text, parse, JsonError, MAX_NESTING};

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn blank_output_is_empty_not_invalid() {
        assert_eq!(parse(b""), Err(JsonError::Empty));
        assert_eq!(parse(b" \n\t\r\n"), Err(JsonError::Empty));
        assert_eq!(parse(b"\xEF\xBB\xBF  "), Err(JsonError::Empty));
        assert!(matches!(parse(b"\x0c"), Err(JsonError::Invalid { .. })));
    }

    #[test]
    fn document_text_drops_only_the_byte_order_mark() {
        assert_eq!(document_text(b"\xEF\xBB\xBF [1]"), Ok(&b" [1]"[..]));
        assert_eq!(document_text(b"\xEF\xBB\xBF\r\n"), Err(JsonError::Empty));
    }

    #[test]
    fn accepts_one_document_with_a_byte_order_mark() {
        assert!(parse(b"\xEF\xBB\xBF{\"a\": [1, 2]}\n").is_ok());
        assert!(parse(b" 2 ").is_ok());
    }

    #[test]
    fn rejects_trailing_garbage_with_its_position() {
        let Err(JsonError::Invalid {
            line,
            column,
            excerpt,
            ..
        }) = parse(b"{\"a\": 1}\n  x")
        else {
            panic!("trailing garbage must be invalid");
        };
        assert_eq!((line, column), (2, 3));
        assert!(excerpt.contains('x'));
    }

    #[test]
    fn rejects_invalid_utf8_inside_strings() {
        assert!(matches!(
            parse(b"[\"\xff\"]"),
            Err(JsonError::Invalid { .. })
        ));
    }

    #[test]
    fn allows_ruby_max_nesting_and_refuses_one_more() {
        assert!(parse(nested(MAX_NESTING).as_bytes()).is_ok());
        assert!(matches!(
            parse(nested(MAX_NESTING + 1).as_bytes()),
            Err(JsonError::Invalid { .. })
        ));
    }

    #[test]
    fn refuses_hostile_depth_without_overflowing_the_stack() {
        assert!(matches!(
            parse(nested(100_000).as_bytes()),
            Err(JsonError::Invalid { .. })
        ));
    }
}
