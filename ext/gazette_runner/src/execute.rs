//! `GazetteRunner::Native.execute(call, bound, observer, hooks)`: one run, from
//! the Ruby call's options (read once, through its readers) to a wrapped outcome.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use gazette_runner_core::{Command, Limits, Step, Stream};
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

fn run(
    ruby: &Ruby,
    call: Value,
    bound: f64,
    observer: Value,
    hooks: Option<RHash>,
) -> Result<RunOutcome, Error> {
    let mut hooks = Hooks::from_hash(ruby, hooks)?;
    let mut command = command(ruby, call, bound)?;
    if hooks.streaming() {
        command.flush_at(1);
    }
    command.wake_on_progress(hooks.wants_progress());
    let mut execution = command.spawn().map_err(|e| errors::spawn_error(ruby, &e))?;
    let waker = execution.waker();
    let stdout = ruby.str_buf_new(0);
    let stderr = ruby.str_buf_new(0);
    // An exception from the calling thread or from a hook ends the program;
    // once one did, hooks are not called again.
    let live = LiveProgress::new(execution.latest_progress());
    let mut interruption: Option<Error> = if observer.is_nil() {
        None
    } else {
        observer
            .funcall::<_, _, Value>("spawned", (execution.pid(), live))
            .err()
    };
    if interruption.is_some() {
        execution.interrupt();
    }
    let mut outcome = loop {
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
                let (out, err) = (
                    execution.take_output(Stream::Stdout),
                    execution.take_output(Stream::Stderr),
                );
                stdout.cat(&out);
                stderr.cat(&err);
                let progress = execution.take_progress();
                if interruption.is_none() {
                    let delivered = hooks
                        .output(ruby, Stream::Stdout, &out)
                        .and_then(|()| hooks.output(ruby, Stream::Stderr, &err))
                        .and_then(|()| hooks.progress(ruby, progress));
                    if let Err(error) = delivered {
                        execution.interrupt();
                        interruption = Some(error);
                    }
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
    let (last_out, last_err) = (
        std::mem::take(&mut outcome.stdout),
        std::mem::take(&mut outcome.stderr),
    );
    stdout.cat(&last_out);
    stderr.cat(&last_err);
    hooks.output(ruby, Stream::Stdout, &last_out)?;
    hooks.output(ruby, Stream::Stderr, &last_err)?;
    hooks.finish(ruby)?;
    hooks.progress(ruby, execution.take_progress())?;
    Ok(RunOutcome::new(*outcome, stdout, stderr))
}

/// Kills every process group this process still runs; for `at_exit`.
pub(crate) fn kill_all_running() -> usize {
    gazette_runner_core::kill_all_running()
}
