//! Reading a program's output as exactly one JSON document, the way Ruby's
//! `JSON.parse` (json 2.6) reads it, with deliberate differences: a UTF-8
//! byte-order mark is accepted, invalid UTF-8 and lone surrogate escapes are
//! rejected, and so are the `/* */` and `//` comments that json 2.6 tolerates
//! (they are not JSON).
//!
//! The reader is our own, not serde's `Deserializer`: with `arbitrary_precision`
//! `serde_json` hands a number over as a one-entry map under the private key
//! `"$serde_json::private::Number"`, so a document whose key was spelled that
//! way read differently to the validator than to the Ruby builder (issue 13).
//! Here a key is always a key and a number always its literal; one reader
//! feeds every [`Builder`], so the tree that is validated and the Ruby objects
//! that are returned come from the same events.

use serde_json::{Map, Number, Value};

/// Ruby's `JSON.parse` refuses documents nested deeper than this (`max_nesting`).
pub const MAX_NESTING: usize = 100;

/// Bytes of raw output shown around the point where parsing failed.
pub const EXCERPT_BYTES: usize = 40;

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
        /// What the reader found wrong.
        message: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in bytes) of the error.
        column: usize,
        /// A short piece of the output around the error.
        excerpt: String,
    },
}

/// Whether a number's literal has a fraction or an exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// Digits only (and a sign): Ruby makes an Integer of any size.
    Integer,
    /// With `.`, `e` or `E`: Ruby makes a Float.
    Float,
}

/// What a document is read into. The reader calls these in document order;
/// containers are built bottom-up (items are complete when pushed).
pub trait Builder {
    /// Any JSON value.
    type Value;
    /// An array being filled.
    type Array;
    /// An object being filled.
    type Object;
    /// An object's key.
    type Key;

    /// `null`.
    fn null(&mut self) -> Self::Value;
    /// `true` or `false`.
    fn boolean(&mut self, value: bool) -> Self::Value;
    /// A number, as its literal (valid JSON number grammar, ASCII).
    fn number(&mut self, literal: &str, kind: NumberKind) -> Self::Value;
    /// A string, unescaped.
    fn string(&mut self, text: &str) -> Self::Value;
    /// An object's key, unescaped: only ever a key, whatever it spells.
    fn key(&mut self, text: &str) -> Self::Key;
    /// A new, empty array.
    fn array(&mut self) -> Self::Array;
    /// Appends `item` to `array`.
    fn push(&mut self, array: &mut Self::Array, item: Self::Value);
    /// The finished array.
    fn end_array(&mut self, array: Self::Array) -> Self::Value;
    /// A new, empty object.
    fn object(&mut self) -> Self::Object;
    /// Sets `key` in `object`; a repeated key takes the last value.
    fn insert(&mut self, object: &mut Self::Object, key: Self::Key, value: Self::Value);
    /// The finished object.
    fn end_object(&mut self, object: Self::Object) -> Self::Value;
}

/// Parses `output` as exactly one JSON document into a `serde_json::Value`.
///
/// Numbers keep their literal (`serde_json`'s `arbitrary_precision`), so big
/// integers and floats are validated exactly as written.
///
/// # Errors
/// [`JsonError::Empty`] for blank output, [`JsonError::Invalid`] for anything
/// that is not one document: syntax errors, trailing garbage, invalid UTF-8,
/// or nesting deeper than [`MAX_NESTING`] (refused when the reader reaches it:
/// the reader's recursion never goes deeper, whatever the input).
pub fn parse(output: &[u8]) -> Result<Value, JsonError> {
    parse_with(output, &mut ValueBuilder)
}

/// Parses `output` as exactly one JSON document into whatever `builder` makes.
///
/// # Errors
/// As [`parse`].
pub fn parse_with<B: Builder>(output: &[u8], builder: &mut B) -> Result<B::Value, JsonError> {
    let text = document_text(output)?;
    let mut reader = Reader {
        text,
        at: 0,
        scratch: String::new(),
    };
    reader
        .value(builder, 0)
        .and_then(|value| {
            reader.skip_whitespace();
            if reader.at < text.len() {
                return Err(reader.failure("trailing characters"));
            }
            Ok(value)
        })
        .map_err(|failure| failure.into_error(text))
}

/// The text a reader should read: `output` without its UTF-8 byte-order mark.
///
/// # Errors
/// [`JsonError::Empty`] when nothing but JSON whitespace remains.
pub fn document_text(output: &[u8]) -> Result<&[u8], JsonError> {
    let text = output.strip_prefix(BOM).unwrap_or(output);
    // JSON's own whitespace only: a form feed is not blank, it is invalid.
    if text.iter().all(|&b| is_whitespace(b)) {
        return Err(JsonError::Empty);
    }
    Ok(text)
}

/// The bytes that end a run of plain string contents: the closing quote, a
/// backslash, and the control characters JSON forbids unescaped.
static STRING_STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        stops[byte] = true;
        byte += 1;
    }
    stops[b'"' as usize] = true;
    stops[b'\\' as usize] = true;
    stops
};

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Builds `serde_json::Value`s: what the schema validator reads.
pub struct ValueBuilder;

impl Builder for ValueBuilder {
    type Value = Value;
    type Array = Vec<Value>;
    type Object = Map<String, Value>;
    type Key = String;

    fn null(&mut self) -> Value {
        Value::Null
    }

    fn boolean(&mut self, value: bool) -> Value {
        Value::Bool(value)
    }

    fn number(&mut self, literal: &str, kind: NumberKind) -> Value {
        // The common case, without parsing the literal twice (`-0`, the one
        // integer literal i64 would not give back, keeps its literal below).
        if kind == NumberKind::Integer && literal != "-0" {
            if let Ok(small) = literal.parse::<i64>() {
                return Value::Number(small.into());
            }
        }
        // With arbitrary_precision, parsing a Number keeps its literal. The
        // reader checked the grammar; should serde ever disagree, the value
        // must still be a number, never something that validates as another
        // type, so fall back to the nearest float (±Infinity has no JSON form
        // and becomes the largest finite one).
        Value::Number(literal.parse::<Number>().unwrap_or_else(|_| {
            let float = literal.parse::<f64>().unwrap_or(0.0);
            Number::from_f64(float.clamp(f64::MIN, f64::MAX)).unwrap_or_else(|| 0.into())
        }))
    }

    fn string(&mut self, text: &str) -> Value {
        Value::String(text.to_owned())
    }

    fn key(&mut self, text: &str) -> String {
        text.to_owned()
    }

    fn array(&mut self) -> Vec<Value> {
        Vec::new()
    }

    fn push(&mut self, array: &mut Vec<Value>, item: Value) {
        array.push(item);
    }

    fn end_array(&mut self, array: Vec<Value>) -> Value {
        Value::Array(array)
    }

    fn object(&mut self) -> Map<String, Value> {
        Map::new()
    }

    fn insert(&mut self, object: &mut Map<String, Value>, key: String, value: Value) {
        object.insert(key, value);
    }

    fn end_object(&mut self, object: Map<String, Value>) -> Value {
        Value::Object(object)
    }
}

/// Where and why reading stopped; turned into a [`JsonError`] once.
struct Failure {
    message: String,
    at: usize,
}

impl Failure {
    fn into_error(self, text: &[u8]) -> JsonError {
        let at = self.at.min(text.len());
        let before = &text[..at];
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |newline| newline + 1);
        JsonError::Invalid {
            message: self.message,
            line,
            column: at - line_start + 1,
            excerpt: excerpt(text, at),
        }
    }
}

/// The bytes around `at`, lossily decoded.
fn excerpt(text: &[u8], at: usize) -> String {
    let start = at.saturating_sub(EXCERPT_BYTES / 2);
    let end = (start + EXCERPT_BYTES).min(text.len());
    let window = String::from_utf8_lossy(&text[start..end]);
    // A window cut inside a character decodes to U+FFFD, which is longer than
    // the byte it stands for: keep at most EXCERPT_BYTES characters.
    window.chars().take(EXCERPT_BYTES).collect()
}

struct Reader<'t> {
    text: &'t [u8],
    at: usize,
    /// Unescaped strings are built here, reused from one to the next.
    scratch: String,
}

impl Reader<'_> {
    fn failure(&self, message: &str) -> Failure {
        Failure {
            message: message.to_owned(),
            at: self.at,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(is_whitespace) {
            self.at += 1;
        }
    }

    /// The next non-whitespace byte, not consumed.
    fn next_byte(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.peek()
    }

    fn value<B: Builder>(&mut self, builder: &mut B, depth: usize) -> Result<B::Value, Failure> {
        match self.next_byte() {
            None => Err(self.failure("EOF while parsing a value")),
            Some(b'[') => self.array(builder, depth),
            Some(b'{') => self.object(builder, depth),
            Some(b'"') => {
                self.at += 1;
                let text = self.string()?;
                Ok(builder.string(text))
            }
            Some(b'-' | b'0'..=b'9') => {
                let (literal, kind) = self.number()?;
                Ok(builder.number(literal, kind))
            }
            Some(b't') => self.word(b"true").map(|()| builder.boolean(true)),
            Some(b'f') => self.word(b"false").map(|()| builder.boolean(false)),
            Some(b'n') => self.word(b"null").map(|()| builder.null()),
            Some(_) => Err(self.failure("expected value")),
        }
    }

    /// Enters a container at `depth`, or refuses past `JSON.parse`'s `max_nesting`.
    fn open(&mut self, depth: usize) -> Result<(), Failure> {
        if depth >= MAX_NESTING {
            return Err(self.failure(&format!(
                "nesting of {} is too deep (at most {MAX_NESTING})",
                MAX_NESTING + 1
            )));
        }
        self.at += 1;
        Ok(())
    }

    fn array<B: Builder>(&mut self, builder: &mut B, depth: usize) -> Result<B::Value, Failure> {
        self.open(depth)?;
        let mut array = builder.array();
        if self.next_byte() == Some(b']') {
            self.at += 1;
            return Ok(builder.end_array(array));
        }
        loop {
            let item = self.value(builder, depth + 1)?;
            builder.push(&mut array, item);
            match self.next_byte() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(builder.end_array(array));
                }
                None => return Err(self.failure("EOF while parsing a list")),
                Some(_) => return Err(self.failure("expected `,` or `]`")),
            }
        }
    }

    fn object<B: Builder>(&mut self, builder: &mut B, depth: usize) -> Result<B::Value, Failure> {
        self.open(depth)?;
        let mut object = builder.object();
        if self.next_byte() == Some(b'}') {
            self.at += 1;
            return Ok(builder.end_object(object));
        }
        loop {
            match self.next_byte() {
                Some(b'"') => self.at += 1,
                None => return Err(self.failure("EOF while parsing an object")),
                Some(_) => return Err(self.failure("key must be a string")),
            }
            let key = builder.key(self.string()?);
            match self.next_byte() {
                Some(b':') => self.at += 1,
                None => return Err(self.failure("EOF while parsing an object")),
                Some(_) => return Err(self.failure("expected `:`")),
            }
            let value = self.value(builder, depth + 1)?;
            builder.insert(&mut object, key, value);
            match self.next_byte() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(builder.end_object(object));
                }
                None => return Err(self.failure("EOF while parsing an object")),
                Some(_) => return Err(self.failure("expected `,` or `}`")),
            }
        }
    }

    fn word(&mut self, word: &[u8]) -> Result<(), Failure> {
        let end = self.at + word.len();
        if self.text.get(self.at..end) == Some(word) {
            self.at = end;
            return Ok(());
        }
        Err(self.failure("expected value"))
    }

    /// A string's contents, the opening quote already read: borrowed from the
    /// text when it has no escapes, else unescaped into `scratch`.
    fn string(&mut self) -> Result<&str, Failure> {
        let start = self.at;
        let mut escaped = false;
        loop {
            let rest = self.text.get(self.at..).unwrap_or_default();
            let Some(offset) = rest.iter().position(|&b| STRING_STOPS[usize::from(b)]) else {
                self.at = self.text.len();
                return Err(self.failure("EOF while parsing a string"));
            };
            self.at += offset;
            match self.text[self.at] {
                b'"' => break,
                // The escape is checked when unescaping; skip its first byte.
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                _ => {
                    return Err(self.failure(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ))
                }
            }
        }
        let end = self.at;
        self.at += 1;
        let raw = std::str::from_utf8(&self.text[start..end]).map_err(|e| Failure {
            message: "invalid UTF-8 in string".to_owned(),
            at: start + e.valid_up_to(),
        })?;
        if !escaped {
            return Ok(raw);
        }
        unescape(raw, &mut self.scratch).map_err(|(message, offset)| Failure {
            message: message.to_owned(),
            at: start + offset,
        })?;
        Ok(&self.scratch)
    }

    fn number(&mut self) -> Result<(&str, NumberKind), Failure> {
        let start = self.at;
        let mut kind = NumberKind::Integer;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.failure("invalid number")),
        }
        if self.peek() == Some(b'.') {
            kind = NumberKind::Float;
            self.at += 1;
            self.required_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            kind = NumberKind::Float;
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.required_digits()?;
        }
        let literal = std::str::from_utf8(&self.text[start..self.at])
            .map_err(|_| self.failure("invalid number"))?;
        Ok((literal, kind))
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), Failure> {
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.failure("invalid number"));
        }
        self.digits();
        Ok(())
    }
}

/// Unescapes a string's raw contents (valid UTF-8, escapes not yet checked)
/// into `out`. An error names what is wrong and its byte offset in `raw`.
fn unescape(raw: &str, out: &mut String) -> Result<(), (&'static str, usize)> {
    out.clear();
    out.reserve(raw.len());
    let bytes = raw.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..].iter().position(|&b| b == b'\\') {
        let slash = at + found;
        out.push_str(&raw[copied..slash]);
        let escape = bytes.get(slash + 1).copied();
        at = slash + 2;
        match escape {
            Some(b'"') => out.push('"'),
            Some(b'\\') => out.push('\\'),
            Some(b'/') => out.push('/'),
            Some(b'b') => out.push('\u{8}'),
            Some(b'f') => out.push('\u{c}'),
            Some(b'n') => out.push('\n'),
            Some(b'r') => out.push('\r'),
            Some(b't') => out.push('\t'),
            Some(b'u') => {
                let (character, end) = unicode_escape(bytes, slash)?;
                out.push(character);
                at = end;
            }
            _ => return Err(("invalid escape", slash)),
        }
        copied = at;
    }
    out.push_str(&raw[copied..]);
    Ok(())
}

/// The character of the `\uXXXX` escape at `slash` (a surrogate pair takes
/// two escapes), and the offset just past it.
fn unicode_escape(bytes: &[u8], slash: usize) -> Result<(char, usize), (&'static str, usize)> {
    let unit = hex4(bytes, slash + 2)?;
    let end = slash + 6;
    match unit {
        0xD800..=0xDBFF => {
            if bytes.get(end..end + 2) != Some(b"\\u") {
                return Err(("lone leading surrogate in hex escape", slash));
            }
            let low = hex4(bytes, end + 2)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(("lone leading surrogate in hex escape", slash));
            }
            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            char::from_u32(code)
                .map(|c| (c, end + 6))
                .ok_or(("invalid unicode code point", slash))
        }
        0xDC00..=0xDFFF => Err(("lone trailing surrogate in hex escape", slash)),
        _ => char::from_u32(unit)
            .map(|c| (c, end))
            .ok_or(("invalid unicode code point", slash)),
    }
}

fn hex4(bytes: &[u8], at: usize) -> Result<u32, (&'static str, usize)> {
    let digits = bytes
        .get(at..at + 4)
        .ok_or(("EOF while parsing a string", at))?;
    digits.iter().try_fold(0, |code, &digit| {
        let value = char::from(digit)
            .to_digit(16)
            .ok_or(("invalid escape", at))?;
        Ok(code * 16 + value)
    })
}

#[cfg(test)]
mod tests {
    use super::{document_text, parse, JsonError, MAX_NESTING};
    use serde_json::json;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    fn invalid_at(text: &str) -> (usize, usize) {
        match parse(text.as_bytes()) {
            Err(JsonError::Invalid { line, column, .. }) => (line, column),
            other => panic!("{text:?} must be invalid, got {other:?}"),
        }
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
    fn reads_every_kind_of_value() {
        let text =
            r#" {"a": [1, -2.5, true, false, null, "x\n\u00e9\ud83d\ude00\/"], "b": {}, "c": []} "#;
        assert_eq!(
            parse(text.as_bytes()).unwrap(),
            json!({"a": [1, -2.5, true, false, null, "x\né😀/"], "b": {}, "c": []})
        );
    }

    #[test]
    fn keeps_every_number_exact() {
        let text = "[123456789012345678901234567890, -0, 1E2, 1e400, 0.1]";
        let parsed = parse(text.as_bytes()).unwrap();
        let literals: Vec<String> = parsed
            .as_array()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        // serde_json writes exponents its own way; the digits are exact.
        assert_eq!(
            literals,
            [
                "123456789012345678901234567890",
                "-0",
                "1e+2",
                "1e+400",
                "0.1"
            ]
        );
    }

    #[test]
    fn a_key_is_a_key_whatever_it_spells() {
        for token in [
            "$serde_json::private::Number",
            "$serde_json::private::RawValue",
        ] {
            let text = format!(r#"{{"{token}": "7", "x": {{"{token}": "zzz"}}}}"#);
            let parsed = parse(text.as_bytes()).unwrap();
            assert_eq!(parsed[token], json!("7"));
            assert_eq!(parsed["x"][token], json!("zzz"));
        }
    }

    #[test]
    fn last_of_repeated_keys_wins() {
        assert_eq!(parse(br#"{"a": 1, "a": 2}"#).unwrap(), json!({"a": 2}));
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
    fn rejects_what_is_not_json() {
        for text in [
            "[1,]",
            "{\"a\":1,}",
            "[01]",
            "[1.]",
            "[.5]",
            "[1e]",
            "[-]",
            "[+1]",
            "{a:1}",
            "{\"a\" 1}",
            "[\"a\\x\"]",
            "[\"\\ud800\"]",
            "[\"\\udc00\"]",
            "[\"\\u12\"]",
            "[\"a\tb\"]",
            "[tru]",
            "[nul]",
            "[NaN]",
            "[Infinity]",
            "[1 /* c */]",
            "\"abc",
            "[1",
            "{\"a\":",
            "[1] [2]",
            "'a'",
        ] {
            invalid_at(text);
        }
    }

    #[test]
    fn rejects_invalid_utf8_inside_strings() {
        assert!(matches!(
            parse(b"[\"\xff\"]"),
            Err(JsonError::Invalid { .. })
        ));
        assert!(matches!(
            parse(b"[\"a\\n\xc3\"]"),
            Err(JsonError::Invalid { .. })
        ));
    }

    #[test]
    fn allows_ruby_max_nesting_and_refuses_one_more() {
        assert!(parse(nested(MAX_NESTING).as_bytes()).is_ok());
        let objects = format!(
            "{}1{}",
            "{\"a\":".repeat(MAX_NESTING + 1),
            "}".repeat(MAX_NESTING + 1)
        );
        for text in [nested(MAX_NESTING + 1), objects] {
            let Err(JsonError::Invalid { message, .. }) = parse(text.as_bytes()) else {
                panic!("nesting of {} must be invalid", MAX_NESTING + 1);
            };
            assert!(message.contains("too deep"), "{message}");
        }
    }

    #[test]
    fn refuses_hostile_depth_without_overflowing_the_stack() {
        assert!(matches!(
            parse(nested(100_000).as_bytes()),
            Err(JsonError::Invalid { .. })
        ));
    }

    #[test]
    fn excerpts_stay_short() {
        let text = format!("[\"{}\u{e9}{}", "x".repeat(19), "y".repeat(100));
        let Err(JsonError::Invalid { excerpt, .. }) = parse(text.as_bytes()) else {
            panic!("unterminated string must be invalid");
        };
        assert!(excerpt.chars().count() <= super::EXCERPT_BYTES);
    }
}
