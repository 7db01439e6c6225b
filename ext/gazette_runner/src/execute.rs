//! `GazetteRunner::Native.execute(call, bound, observer, hooks)`: one run, from
//! the Ruby call's options (read once, through its readers) to a wrapped outcome.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use gazette_runner_core::progress::Progress;
use gazette_runner_core::{Command, Execution, Limits, Outcome, Step, Stream};
use magnus::{prelude::*, Error, RArray, RHash, RString, Ruby, TryConvert, Value};

use crate::errors;
use crate::hooks::Hooks;
use crate::nogvl::without_gvl;
use crate::outcome::{LiveProgress, RunOutcome};

/// Output is handed to Ruby in pieces of this size, so a large output is never
/// held twice (once in Rust, once in Ruby).
const HAND_OVER_BYTES: usize = 4 << 20;

fn bytes(string: RString) -> Vec<u8> {
    // SAFETY: copied at once, before any Ruby code can run and change the string.
    unsafe { string.as_slice() }.to_vec()
}

fn os(string: RString) -> OsString {
    OsString::from_vec(bytes(string))
}

/// Converts each element of a Ruby Array at once, so no Ruby value is kept
/// where the GC cannot see it.
fn each<T: TryConvert, R>(
    array: RArray,
    mut convert: impl FnMut(T) -> Result<R, Error>,
) -> Result<Vec<R>, Error> {
    (0..array.len())
        .map(|i| convert(array.entry::<T>(isize::try_from(i).unwrap_or(isize::MAX))?))
        .collect()
}

/// Seconds already checked against their range by the Ruby layer; anything
/// else is refused here too, never saturated into a bound nobody asked for.
fn seconds(ruby: &Ruby, name: &str, value: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| Error::new(ruby.exception_arg_error(), format!("{name} out of range")))
}

fn read<T: TryConvert>(call: Value, name: &str) -> Result<T, Error> {
    call.funcall(name, ())
}

/// The command a `GazetteRunner::Call` describes, with `bound` as its timeout.
fn command(ruby: &Ruby, call: Value, bound: f64) -> Result<Command, Error> {
    let invalid = |e| errors::argument_error(ruby, &e);
    let argv = each(read(call, "argv")?, |arg: RString| Ok(os(arg)))?;
    let mut command = Command::new(argv, seconds(ruby, "timeout", bound)?).map_err(invalid)?;
    let env = each(read(call, "spawn_env")?, |pair: RArray| {
        Ok((
            os(pair.entry(0)?),
            pair.entry::<Option<RString>>(1)?.map(os),
        ))
    })?;
    for (name, value) in env {
        command.env(name, value).map_err(invalid)?;
    }
    if let Some(dir) = read::<Option<RString>>(call, "chdir")? {
        command.cwd(os(dir)).map_err(invalid)?;
    }
    if let Some(input) = read::<Option<RString>>(call, "stdin")? {
        command.stdin(bytes(input));
    }
    command
        .clear_env(read(call, "clear_env")?)
        .kill_after(seconds(ruby, "kill_after", read(call, "kill_after")?)?)
        .max_output(read(call, "max_output")?)
        .limits(Limits {
            memory_bytes: read(call, "memory_limit")?,
            cpu_seconds: read(call, "cpu_limit")?,
        })
        .flush_at(HAND_OVER_BYTES);
    Ok(command)
}

/// Runs the program `call` describes within `bound` seconds. `observer.spawned(pid,
/// live_progress)` is called once it runs; `hooks` (see [`Hooks`]) as it goes.
pub(crate) fn execute(
    ruby: &Ruby,
    call: Value,
    bound: f64,
    observer: Value,
    hooks: Option<RHash>,
) -> Result<RunOutcome, Error> {
    errors::shielded(ruby, || run(ruby, call, bound, observer, hooks))
}

/// The command and hooks of one run: output reaches Ruby as soon as it is
/// read when a line hook wants it, and a progress report wakes the wait only
/// when `on_progress` was given.
pub(crate) fn prepare(
    ruby: &Ruby,
    call: Value,
    bound: f64,
    hooks: Option<RHash>,
) -> Result<(Command, Hooks), Error> {
    let hooks = Hooks::from_hash(ruby, hooks)?;
    let mut command = command(ruby, call, bound)?;
    if hooks.streaming() {
        command.flush_at(1);
    }
    command.wake_on_progress(hooks.wants_progress());
    Ok((command, hooks))
}

/// Tells `observer` (unless nil) the pid and the live progress of a program just spawned.
pub(crate) fn announce(observer: Value, execution: &Execution) -> Result<(), Error> {
    if observer.is_nil() {
        return Ok(());
    }
    let live = LiveProgress::new(execution.latest_progress());
    observer
        .funcall::<_, _, Value>("spawned", (execution.pid(), live))
        .map(drop)
}

/// What a run gathered so far, held by Ruby: the output Strings and the hooks.
pub(crate) struct Gathered {
    pub(crate) stdout: RString,
    pub(crate) stderr: RString,
    pub(crate) hooks: Hooks,
}

impl Gathered {
    pub(crate) fn new(ruby: &Ruby, hooks: Hooks) -> Self {
        Self {
            stdout: ruby.str_buf_new(0),
            stderr: ruby.str_buf_new(0),
            hooks,
        }
    }

    /// Takes what the execution has to hand over ([`Step::Output`]) and, when
    /// `deliver`, passes it to the hooks; their error is returned.
    pub(crate) fn take(
        &mut self,
        ruby: &Ruby,
        execution: &mut Execution,
        deliver: bool,
    ) -> Result<(), Error> {
        let (out, err) = (
            execution.take_output(Stream::Stdout),
            execution.take_output(Stream::Stderr),
        );
        self.stdout.cat(&out);
        self.stderr.cat(&err);
        let progress = execution.take_progress();
        if !deliver {
            return Ok(());
        }
        self.hooks
            .output(ruby, Stream::Stdout, &out)
            .and_then(|()| self.hooks.output(ruby, Stream::Stderr, &err))
            .and_then(|()| self.hooks.progress(ruby, progress))
    }

    /// The finished run as a Ruby object, after the hooks (when `deliver`) got
    /// the rest of the output and the last progress reports.
    pub(crate) fn conclude(
        mut self,
        ruby: &Ruby,
        mut outcome: Outcome,
        last_progress: Vec<Progress>,
        deliver: bool,
    ) -> Result<RunOutcome, Error> {
        let (last_out, last_err) = (
            std::mem::take(&mut outcome.stdout),
            std::mem::take(&mut outcome.stderr),
        );
        self.stdout.cat(&last_out);
        self.stderr.cat(&last_err);
        if deliver {
            self.hooks.output(ruby, Stream::Stdout, &last_out)?;
            self.hooks.output(ruby, Stream::Stderr, &last_err)?;
            self.hooks.finish(ruby)?;
            self.hooks.progress(ruby, last_progress)?;
        }
        Ok(RunOutcome::new(outcome, self.stdout, self.stderr))
    }
}

fn run(
    ruby: &Ruby,
    call: Value,
    bound: f64,
    observer: Value,
    hooks: Option<RHash>,
) -> Result<RunOutcome, Error> {
    let (command, hooks) = prepare(ruby, call, bound, hooks)?;
    let mut execution = command.spawn().map_err(|e| errors::spawn_error(ruby, &e))?;
    let waker = execution.waker();
    let mut gathered = Gathered::new(ruby, hooks);
    // An exception from the calling thread or from a hook ends the program;
    // once one did, hooks are not called again.
    let mut interruption: Option<Error> = announce(observer, &execution).err();
    if interruption.is_some() {
        execution.interrupt();
    }
    let outcome = loop {
        let step = match without_gvl(&waker, || execution.wait()) {
            Some(Ok(step)) => step,
            Some(Err(_panic)) => {
                return Err(errors::internal_error(ruby, "the wait loop panicked"))
            }
            // Ruby had an interrupt pending and would not release the GVL:
            // do what is ready without blocking, so the loop progresses even
            // when every round of interrupt handling sets a new one (GC.stress).
            None => execution.wait_at_most(Duration::ZERO),
        };
        match step {
            Step::Finished(outcome) => break outcome,
            Step::Output => {
                if let Err(error) = gathered.take(ruby, &mut execution, interruption.is_none()) {
                    execution.interrupt();
                    interruption = Some(error);
                }
            }
            Step::Woken => {
                // Every wake-up must run Ruby's pending interrupts, or a timer
                // interrupt would stay pending and the wait would never resume.
                // Only an exception ends the program; a trapped signal just
                // resumes the wait. A later exception replaces an earlier one,
                // as one raised in an `ensure` would.
                if let Err(error) = ruby.thread_check_ints() {
                    execution.interrupt();
                    interruption = Some(error);
                }
            }
        }
    };
    if let Some(error) = interruption {
        return Err(error); // the group is ended and reaped by now
    }
    let last_progress = execution.take_progress();
    gathered.conclude(ruby, *outcome, last_progress, true)
}

/// Kills every process group this process still runs; for `at_exit`.
pub(crate) fn kill_all_running() -> usize {
    gazette_runner_core::kill_all_running()
}
