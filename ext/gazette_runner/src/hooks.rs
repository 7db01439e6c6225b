//! The Ruby callables a run reports to while it goes on: `on_stdout`,
//! `on_stderr` (lines, one String per read) and `on_progress`.
//! They are called on the calling thread, with the GVL held only while they run;
//! the program's bound does not wait for them (the core's supervisor thread keeps it).

use gazette_runner_core::lines::LineBuffer;
use gazette_runner_core::progress::Progress;
use gazette_runner_core::Stream;
use magnus::{gc::Marker, prelude::*, value::Opaque, Error, RHash, RString, Ruby, Value};

/// Callables taken from the `hooks` Hash. For a single run the struct lives on
/// the stack, where the GC sees the values; a batch keeps it in its slot and
/// marks it ([`Hooks::mark`]).
pub(crate) struct Hooks {
    on_stdout: Option<Opaque<Value>>,
    on_stderr: Option<Opaque<Value>>,
    on_progress: Option<Opaque<Value>>,
    stdout_lines: LineBuffer,
    stderr_lines: LineBuffer,
}

impl Hooks {
    pub(crate) fn from_hash(ruby: &Ruby, hash: Option<RHash>) -> Result<Self, Error> {
        let get = |key: &str| -> Result<Option<Opaque<Value>>, Error> {
            match hash {
                Some(hash) => Ok(hash
                    .get(ruby.to_symbol(key))
                    .filter(|v| !v.is_nil())
                    .map(Opaque::from)),
                None => Ok(None),
            }
        };
        Ok(Self {
            on_stdout: get("on_stdout")?,
            on_stderr: get("on_stderr")?,
            on_progress: get("on_progress")?,
            stdout_lines: LineBuffer::default(),
            stderr_lines: LineBuffer::default(),
        })
    }

    /// True when output must reach Ruby as soon as it is read: only the line
    /// hooks need that (a progress report wakes the wait by itself, and only
    /// when `on_progress` was given).
    pub(crate) fn streaming(&self) -> bool {
        self.on_stdout.is_some() || self.on_stderr.is_some()
    }

    /// True when `on_progress` was given: only then is each report handed to Ruby.
    pub(crate) fn wants_progress(&self) -> bool {
        self.on_progress.is_some()
    }

    /// Passes the lines completed by `bytes` to the stream's hook, as one String.
    pub(crate) fn output(
        &mut self,
        ruby: &Ruby,
        stream: Stream,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let (hook, buffer) = match stream {
            Stream::Stdout => (self.on_stdout, &mut self.stdout_lines),
            Stream::Stderr => (self.on_stderr, &mut self.stderr_lines),
        };
        let Some(hook) = hook else { return Ok(()) };
        let Some(text) = buffer.push_lines(bytes) else {
            return Ok(());
        };
        ruby.get_inner(hook)
            .funcall::<_, _, Value>("call", (lines(ruby, &text),))
            .map(drop)
    }

    pub(crate) fn progress(&self, ruby: &Ruby, events: Vec<Progress>) -> Result<(), Error> {
        let Some(hook) = self.on_progress.map(|hook| ruby.get_inner(hook)) else {
            return Ok(());
        };
        for event in events {
            let message = event.message.as_deref().map(|m| ruby.str_new(m));
            hook.funcall::<_, _, Value>("call", (event.percent, message))?;
        }
        Ok(())
    }

    /// Marks the callables for the GC, for a batch that keeps them off the stack.
    pub(crate) fn mark(&self, marker: &Marker) {
        for hook in [self.on_stdout, self.on_stderr, self.on_progress]
            .into_iter()
            .flatten()
        {
            marker.mark(hook);
        }
    }

    /// Delivers the unterminated last line of each stream, once the run ended.
    pub(crate) fn finish(&mut self, ruby: &Ruby) -> Result<(), Error> {
        for (hook, buffer) in [
            (self.on_stdout, &mut self.stdout_lines),
            (self.on_stderr, &mut self.stderr_lines),
        ] {
            if let (Some(hook), Some(last)) = (hook, buffer.finish()) {
                let lines = lines(ruby, &last);
                ruby.get_inner(hook)
                    .funcall::<_, _, Value>("call", (lines,))?;
            }
        }
        Ok(())
    }
}

/// Lines as one frozen Ruby String in `Encoding.default_external`, like the
/// run's own output. The Ruby layer splits it with `String#each_line`, whose
/// lines share its buffer: one allocation per read, not one per line.
fn lines(ruby: &Ruby, text: &[u8]) -> RString {
    let text = ruby.enc_str_new(text, ruby.enc_default_external());
    text.freeze();
    text
}
