//! The schema-less path of `parse_json`: serde's events become Ruby objects as
//! they are read. Building a `serde_json::Value`, converting it and dropping it
//! cost more than Ruby's own `JSON.parse`; without the tree we are as fast.
//!
//! GC safety: every object made here is either a local of a visitor frame (on
//! the machine stack, which Ruby's GC scans conservatively) or already inside
//! an Array or Hash that is itself such a local, whenever more is allocated.
//! Nothing Ruby-owned is kept in a heap-allocated Rust structure.

use gazette_runner_core::json::{self, JsonError, MAX_NESTING};
use magnus::rb_sys::{protect, FromRawValue};
use magnus::{Error, Value};
use rb_sys::VALUE;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Parses `output` (raw program output, BOM and all) straight into Ruby objects,
/// as `JSON.parse` would. The outer `Err` is a Ruby exception (`NoMemoryError`);
/// the inner one is what is wrong with the document, exactly as
/// `gazette_runner_core::json::parse` reports it.
///
/// # Safety
/// `output` must stay valid and unchanged for the whole call. A Ruby String's
/// bytes do: its VALUE is on the caller's stack, which both keeps it alive and
/// pins it against compaction, and nothing here runs Ruby code (no method
/// calls, no interrupt checks) that could modify it.
pub(crate) unsafe fn parse(
    output: &[u8],
    symbolize_names: bool,
) -> Result<Result<Value, JsonError>, Error> {
    let text = match json::document_text(output) {
        Ok(text) => text,
        Err(empty) => return Ok(Err(empty)),
    };
    let reader = Reader {
        input: text,
        symbolize_names,
    };
    let mut failed = false;
    // One protect for the whole document (see `build` for why that suffices).
    // If NoMemoryError does longjmp out, the parser's own buffers (its scratch
    // Vec, a number's literal) are leaked, not double-freed: nothing here
    // relies on a destructor having run.
    let object = protect(|| {
        let mut parser = serde_json::Deserializer::from_slice(text);
        let parsed = Node {
            reader: &reader,
            depth: 0,
        }
        .deserialize(&mut parser);
        parsed
            .and_then(|object| parser.end().map(|()| object))
            .unwrap_or_else(|_| {
                failed = true;
                rb_sys::Qnil as VALUE
            })
    })?;
    if failed {
        // Invalid documents are rare, so the core parses them again for its
        // error: message, position, excerpt and the check order (syntax first,
        // then depth) then match the schema path exactly, with no second copy
        // of that logic. Should the core accept what we refused, its tree is
        // converted instead (its keys then sorted: the tree keeps no order),
        // so a refusal here can never lose a document.
        return Ok(match json::parse(output) {
            Ok(document) => Ok(crate::json::to_ruby(&document, symbolize_names)?),
            Err(error) => Err(error),
        });
    }
    // SAFETY: `object` is the VALUE the visitor built, still on our stack.
    Ok(Ok(unsafe { Value::from_raw(object) }))
}

struct Reader<'de> {
    /// The text being parsed: a number's private key never points into it.
    input: &'de [u8],
    symbolize_names: bool,
}

/// Any JSON value, `depth` containers deep.
#[derive(Clone, Copy)]
struct Node<'r, 'de> {
    reader: &'r Reader<'de>,
    depth: usize,
}

impl Node<'_, '_> {
    /// The children's node, or an error past `JSON.parse`'s `max_nesting`.
    /// `serde_json`'s own recursion limit (128) is higher, so this is what keeps
    /// the visitor's recursion to 101 frames whatever the input.
    fn child<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= MAX_NESTING {
            return Err(E::custom("nesting too deep"));
        }
        Ok(Node {
            reader: self.reader,
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, 'de> {
    type Value = VALUE;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<VALUE, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, 'de> {
    type Value = VALUE;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<VALUE, E> {
        Ok(rb_sys::Qnil as VALUE)
    }

    fn visit_bool<E>(self, flag: bool) -> Result<VALUE, E> {
        Ok(if flag { rb_sys::Qtrue } else { rb_sys::Qfalse } as VALUE)
    }

    fn visit_i64<E>(self, number: i64) -> Result<VALUE, E> {
        // SAFETY: under the caller's protect, with the GVL (see `build`).
        Ok(unsafe { rb_sys::rb_ll2inum(number) })
    }

    fn visit_u64<E>(self, number: u64) -> Result<VALUE, E> {
        // SAFETY: as above.
        Ok(unsafe { rb_sys::rb_ull2inum(number) })
    }

    // Unused while arbitrary_precision hands floats over as literals; it keeps
    // the visitor total should that feature ever be dropped.
    fn visit_f64<E>(self, number: f64) -> Result<VALUE, E> {
        // SAFETY: as above.
        Ok(unsafe { rb_sys::rb_float_new(number) })
    }

    fn visit_str<E>(self, text: &str) -> Result<VALUE, E> {
        // SAFETY: as above.
        Ok(unsafe { build::string(text) })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<VALUE, A::Error> {
        let child = self.child()?;
        // SAFETY: as above; `array` is a stack local while its items are built.
        unsafe {
            let array = build::array(items.size_hint().unwrap_or(0));
            while let Some(item) = items.next_element_seed(child)? {
                build::push(array, item);
            }
            Ok(array)
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<VALUE, A::Error> {
        let first = entries.next_key_seed(FirstKey(self.reader))?;
        if let Some(First::Number) = first {
            return entries.next_value_seed(Literal);
        }
        let child = self.child()?;
        // SAFETY: as above; `hash` and each key are stack locals while the
        // values after them are built.
        unsafe {
            let hash = build::hash();
            let Some(First::Key(mut key)) = first else {
                return Ok(hash);
            };
            loop {
                let value = entries.next_value_seed(child)?;
                build::aset(hash, key, value);
                match entries.next_key_seed(Key(self.reader.symbolize_names))? {
                    Some(next) => key = next,
                    None => return Ok(hash),
                }
            }
        }
    }
}

/// What a map's first key turned out to be: `serde_json` (`arbitrary_precision`)
/// hands a number over as a single-entry map under a private key.
enum First {
    Number,
    Key(VALUE),
}

/// `serde_json`'s private key for a number's literal.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

struct FirstKey<'r, 'de>(&'r Reader<'de>);

impl<'de> DeserializeSeed<'de> for FirstKey<'_, 'de> {
    type Value = First;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FirstKey<'_, 'de> {
    type Value = First;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        // The token is serde_json's static; a document's key spelled the same
        // (JSON.parse reads it as a key) is borrowed from the input instead.
        let in_input = self.0.input.as_ptr_range().contains(&text.as_ptr());
        if text == NUMBER_TOKEN && !in_input {
            return Ok(First::Number);
        }
        self.visit_str(text)
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        // SAFETY: under the caller's protect, with the GVL (see `build`).
        Ok(First::Key(unsafe {
            build::key(text, self.0.symbolize_names)
        }))
    }
}

/// Any key after the first.
struct Key(bool);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = VALUE;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<VALUE, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Key {
    type Value = VALUE;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, text: &str) -> Result<VALUE, E> {
        // SAFETY: under the caller's protect, with the GVL (see `build`).
        Ok(unsafe { build::key(text, self.0) })
    }
}

/// A number's literal, as `serde_json` validated it.
struct Literal;

impl<'de> DeserializeSeed<'de> for Literal {
    type Value = VALUE;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<VALUE, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Literal {
    type Value = VALUE;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_str<E>(self, literal: &str) -> Result<VALUE, E> {
        // SAFETY: under the caller's protect, with the GVL (see `build`).
        Ok(unsafe { build::number(literal) })
    }
}

/// Makers of the objects `JSON.parse` returns, as raw `rb_sys` calls.
///
/// Why raw calls under one protect are enough: none of these can raise anything
/// but `NoMemoryError`. They only allocate and fill fresh objects; they never call
/// a Ruby method (Hash hashes and compares String and Symbol keys natively, and
/// the keys are always ours), never check interrupts, and are only given valid
/// UTF-8 and number literals `serde_json` has validated (`rb_str_to_inum` and
/// `rb_str_to_dbl` are called with badcheck 0, which never raises).
///
/// # Safety
/// Each must be called with the GVL held, inside `magnus::rb_sys::protect`.
pub(crate) mod build {
    use rb_sys::VALUE;
    use std::os::raw::c_long;

    // c_long is 64 bits wherever Ruby and this gem run (LP64); never narrower than usize.
    const _: () = assert!(size_of::<c_long>() >= size_of::<usize>());

    fn len(text: &str) -> c_long {
        // Cannot fail: a Rust allocation never exceeds isize::MAX bytes, and
        // c_long is at least as wide (asserted above). Were it to, the panic
        // would abort the process: this runs in protect's `extern "C"` callback.
        c_long::try_from(text.len()).expect("a str's length fits in c_long")
    }

    pub(crate) unsafe fn string(text: &str) -> VALUE {
        rb_sys::rb_utf8_str_new(text.as_ptr().cast(), len(text))
    }

    /// A Hash key: an interned (frozen, deduplicated) String, so a key repeated
    /// in every record is not a new String each time, or a Symbol.
    pub(crate) unsafe fn key(text: &str, symbolize_names: bool) -> VALUE {
        let encoding = rb_sys::rb_utf8_encoding();
        if symbolize_names {
            rb_sys::rb_id2sym(rb_sys::rb_intern3(
                text.as_ptr().cast(),
                len(text),
                encoding,
            ))
        } else {
            rb_sys::rb_enc_interned_str(text.as_ptr().cast(), len(text), encoding)
        }
    }

    /// From the number's literal: integers of any size stay exact (`-0` is
    /// `0`), floats are correctly rounded, out-of-range floats are ±Infinity.
    pub(crate) unsafe fn number(literal: &str) -> VALUE {
        if literal.contains(['.', 'e', 'E']) {
            // Rust's float grammar covers JSON's; Ruby's reading is only a
            // fallback that cannot panic inside the protect.
            let float = literal
                .parse::<f64>()
                .unwrap_or_else(|_| rb_sys::rb_str_to_dbl(string(literal), 0));
            return rb_sys::rb_float_new(float);
        }
        match literal.parse::<i64>() {
            Ok(small) => rb_sys::rb_ll2inum(small),
            Err(_) => rb_sys::rb_str_to_inum(string(literal), 10, 0),
        }
    }

    pub(crate) unsafe fn array(capacity: usize) -> VALUE {
        // Only a hint: one past c_long could never be allocated, so start
        // empty and let the Array grow rather than have Ruby raise.
        rb_sys::rb_ary_new_capa(c_long::try_from(capacity).unwrap_or(0))
    }

    pub(crate) unsafe fn push(array: VALUE, item: VALUE) {
        rb_sys::rb_ary_push(array, item);
    }

    pub(crate) unsafe fn hash() -> VALUE {
        rb_sys::rb_hash_new()
    }

    /// Like JSON.parse: a repeated key keeps its first position and takes the
    /// last value.
    pub(crate) unsafe fn aset(hash: VALUE, key: VALUE, value: VALUE) {
        rb_sys::rb_hash_aset(hash, key, value);
    }
}
