//! Output bytes straight into Ruby objects: the core's JSON reader
//! (`gazette_runner_core::json::parse_with`) drives a [`RubyBuilder`], which
//! makes what `JSON.parse` would. It is the same reader that builds the tree
//! the schema validates, so both see the same document; building no tree
//! first keeps this as fast as Ruby's own `JSON.parse`.
//!
//! GC safety: every object made here is either a local of a reader frame (an
//! open Array or Hash, or a key waiting for its value, on the machine stack,
//! which Ruby's GC scans conservatively) or already inside an Array or Hash
//! that is itself such a local, whenever more is allocated. Nothing Ruby-owned
//! is kept in a heap-allocated Rust structure.

use gazette_runner_core::json::{self, Builder, JsonError, NumberKind};
use magnus::rb_sys::{protect, FromRawValue};
use magnus::{Error, Value};
use rb_sys::VALUE;

/// Parses `output` (raw program output, BOM and all) into Ruby objects, as
/// `JSON.parse` would. The outer `Err` is a Ruby exception (`NoMemoryError`);
/// the inner one is what is wrong with the document, exactly as
/// `gazette_runner_core::json::parse` reports it (the same reader).
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
    let mut failure = None;
    // One protect for the whole document (see `build` for why that suffices).
    // If NoMemoryError does longjmp out, the reader's own buffers (its scratch
    // String) are leaked, not double-freed: nothing here relies on a
    // destructor having run.
    let object = protect(|| {
        json::parse_with(output, &mut RubyBuilder { symbolize_names }).unwrap_or_else(|error| {
            failure = Some(error);
            rb_sys::Qnil as VALUE
        })
    })?;
    Ok(match failure {
        Some(error) => Err(error),
        // SAFETY: `object` is the VALUE the builder made, still on our stack.
        None => Ok(unsafe { Value::from_raw(object) }),
    })
}

/// Makes Ruby objects for the reader. Its methods are only ever called inside
/// the protect of [`parse`], with the GVL held (see `build`).
struct RubyBuilder {
    symbolize_names: bool,
}

// SAFETY (every method): called by the reader inside `parse`'s protect, with
// the GVL, which is what `build` requires.
impl Builder for RubyBuilder {
    type Value = VALUE;
    type Array = VALUE;
    type Object = VALUE;
    type Key = VALUE;

    fn null(&mut self) -> VALUE {
        rb_sys::Qnil as VALUE
    }

    fn boolean(&mut self, value: bool) -> VALUE {
        if value { rb_sys::Qtrue } else { rb_sys::Qfalse }.into()
    }

    fn number(&mut self, literal: &str, kind: NumberKind) -> VALUE {
        unsafe { build::number(literal, kind) }
    }

    fn string(&mut self, text: &str) -> VALUE {
        unsafe { build::string(text) }
    }

    fn key(&mut self, text: &str) -> VALUE {
        unsafe { build::key(text, self.symbolize_names) }
    }

    fn array(&mut self) -> VALUE {
        unsafe { rb_sys::rb_ary_new() }
    }

    fn push(&mut self, array: &mut VALUE, item: VALUE) {
        unsafe { rb_sys::rb_ary_push(*array, item) };
    }

    fn end_array(&mut self, array: VALUE) -> VALUE {
        array
    }

    fn object(&mut self) -> VALUE {
        unsafe { rb_sys::rb_hash_new() }
    }

    /// Like JSON.parse: a repeated key keeps its first position and takes the
    /// last value.
    fn insert(&mut self, object: &mut VALUE, key: VALUE, value: VALUE) {
        unsafe { rb_sys::rb_hash_aset(*object, key, value) };
    }

    fn end_object(&mut self, object: VALUE) -> VALUE {
        object
    }
}

/// Makers of the objects `JSON.parse` returns, as raw `rb_sys` calls.
///
/// Why raw calls under one protect are enough: none of these can raise anything
/// but `NoMemoryError`. They only allocate and fill fresh objects; they never call
/// a Ruby method (Hash hashes and compares String and Symbol keys natively, and
/// the keys are always ours), never check interrupts, and are only given valid
/// UTF-8 and number literals the reader has checked (`rb_str_to_inum` and
/// `rb_str_to_dbl` are called with badcheck 0, which never raises).
///
/// # Safety
/// Each must be called with the GVL held, inside `magnus::rb_sys::protect`.
mod build {
    use gazette_runner_core::json::NumberKind;
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

    pub(super) unsafe fn string(text: &str) -> VALUE {
        rb_sys::rb_utf8_str_new(text.as_ptr().cast(), len(text))
    }

    /// A Hash key: an interned (frozen, deduplicated) String, so a key repeated
    /// in every record is not a new String each time, or a Symbol. Symbols are
    /// made as `JSON.parse` makes them, from a String (`rb_str_intern`): a name
    /// not seen before becomes a dynamic Symbol, which the GC frees once unused,
    /// so a document cannot fill the symbol table for the life of the process
    /// (`rb_intern` would make every name immortal). An existing Symbol is
    /// looked up first without allocating, and without pinning it
    /// (`rb_check_symbol_cstr`, unlike `rb_check_id`, leaves dynamic ones
    /// collectable).
    pub(super) unsafe fn key(text: &str, symbolize_names: bool) -> VALUE {
        let encoding = rb_sys::rb_utf8_encoding();
        if symbolize_names {
            let known = rb_sys::rb_check_symbol_cstr(text.as_ptr().cast(), len(text), encoding);
            if known != rb_sys::Qnil as VALUE {
                return known;
            }
            rb_sys::rb_str_intern(string(text))
        } else {
            rb_sys::rb_enc_interned_str(text.as_ptr().cast(), len(text), encoding)
        }
    }

    /// From the number's literal: integers of any size stay exact (`-0` is
    /// `0`), floats are correctly rounded, out-of-range floats are ±Infinity.
    pub(super) unsafe fn number(literal: &str, kind: NumberKind) -> VALUE {
        if kind == NumberKind::Float {
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
}
