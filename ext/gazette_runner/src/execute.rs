//! `GazetteRunner::Native.execute(call, bound, observer, hooks)`: one run, from
//! the Ruby call's options (read once, through its readers) to a `Result`; and
//! `Native.run(argv, bound, kill_after, max_output)`, a plain run of an argv
//! with no other option, which also keeps its own stats record.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use std::time::Instant;

use gazette_runner_core::progress::Progress;
use gazette_runner_core::{Command, Ending, Execution, Limits, Outcome, Step, Stream};
use magnus::{prelude::*, Error, RArray, RHash, RString, Ruby, TryConvert, Value};

use crate::errors;
use crate::hooks::Hooks;
use crate::ledger;
use crate::live_progress::LiveProgress;
use crate::nogvl::without_gvl;
use crate::result::{self, ending_name};
use crate::running;

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

/// A command of `argv` (an Array of Strings) with `bound` as its timeout.
fn command_of(ruby: &Ruby, argv: RArray, bound: f64) -> Result<Command, Error> {
    let argv = each(argv, |arg: RString| Ok(os(arg)))?;
    let mut command = Command::new(argv, seconds(ruby, "timeout", bound)?)
        .map_err(|e| errors::argument_error(ruby, &e))?;
    command.flush_at(HAND_OVER_BYTES);
    Ok(command)
}

/// The command a `GazetteRunner::Call` describes (its argv is `argv`), with `bound` as its timeout.
fn command(ruby: &Ruby, call: Value, argv: RArray, bound: f64) -> Result<Command, Error> {
    let invalid = |e| errors::argument_error(ruby, &e);
    let mut command = command_of(ruby, argv, bound)?;
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
        });
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
) -> Result<Value, Error> {
    errors::shielded(ruby, || {
        let argv: RArray = read(call, "argv")?;
        let (command, hooks) = prepare(ruby, call, argv, bound, hooks)?;
        let execution = command.spawn().map_err(|e| errors::spawn_error(ruby, &e))?;
        let _listed = running::register(ruby, &execution, argv, bound);
        let interruption = announce(observer, &execution).err();
        let (result, _) = drive(
            ruby,
            execution,
            Gathered::new(ruby, hooks),
            argv,
            interruption,
        )?;
        Ok(result)
    })
}

/// `argv` as a plain run takes it: a non-empty Array of Strings (not
/// subclasses) without NUL bytes, frozen, of frozen Strings (copied when it is
/// not). None for anything else: the Ruby layer checks it and explains.
pub(crate) fn plain_argv(ruby: &Ruby, argv: Value) -> Result<Option<RArray>, Error> {
    let Some(array) = RArray::from_value(argv).filter(|array| !array.is_empty()) else {
        return Ok(None);
    };
    let mut frozen = array.is_frozen();
    for i in 0..array.len() {
        let element: Value = array.entry(isize::try_from(i).unwrap_or(isize::MAX))?;
        let Some(string) = RString::from_value(element)
            .filter(|_| element.class().equal(ruby.class_string()).unwrap_or(false))
        else {
            return Ok(None);
        };
        // SAFETY: read at once, before any Ruby code can run.
        if unsafe { string.as_slice() }.contains(&0) {
            return Ok(None);
        }
        frozen &= string.is_frozen();
    }
    if frozen {
        return Ok(Some(array));
    }
    let copy = ruby.ary_new_capa(array.len());
    for i in 0..array.len() {
        copy.push(RString::new_frozen(
            array.entry(isize::try_from(i).unwrap_or(isize::MAX))?,
        ))?;
    }
    copy.freeze();
    Ok(Some(copy))
}

/// The command of a plain run: `argv` with every other option at its default.
fn plain_command(
    ruby: &Ruby,
    argv: RArray,
    bound: f64,
    kill_after: f64,
    max_output: usize,
) -> Result<Command, Error> {
    let mut command = command_of(ruby, argv, bound)?;
    command
        .kill_after(seconds(ruby, "kill_after", kill_after)?)
        .max_output(max_output);
    Ok(command)
}

/// Spawns a plain run of `argv` (see [`plain_command`]), once the stats have
/// taken the ledger if it is full; a spawn failure is recorded there. Returns
/// the execution and when it started.
pub(crate) fn spawn_plain(
    ruby: &Ruby,
    argv: RArray,
    bound: f64,
    kill_after: f64,
    max_output: usize,
) -> Result<(Execution, Instant), Error> {
    ledger::drain_if_full(ruby)?;
    let started = Instant::now();
    match plain_command(ruby, argv, bound, kill_after, max_output)?.spawn() {
        Ok(execution) => Ok((execution, started)),
        Err(error) => {
            ledger::record("spawn_error", false, None);
            Err(errors::spawn_error(ruby, &error))
        }
    }
}

/// `Native.run(argv, bound, kill_after, max_output)`: runs `argv` with every
/// other option at its default, and records how it ended for the stats (see
/// [`ledger`]); the `Result`, or nil when `argv` is not plain (see [`plain_argv`]).
pub(crate) fn run_plain(
    ruby: &Ruby,
    argv: Value,
    bound: f64,
    kill_after: f64,
    max_output: usize,
) -> Result<Value, Error> {
    errors::shielded(ruby, || {
        let Some(argv) = plain_argv(ruby, argv)? else {
            return Ok(ruby.qnil().as_value());
        };
        let (execution, started) = spawn_plain(ruby, argv, bound, kill_after, max_output)?;
        let listed = running::register(ruby, &execution, argv, bound);
        let gathered = Gathered::new(ruby, Hooks::from_hash(ruby, None)?);
        let ended = drive(ruby, execution, gathered, argv, None);
        drop(listed);
        let duration = Some(started.elapsed().as_secs_f64());
        match &ended {
            Ok((_, (ending, exited_zero))) => {
                ledger::record(ending_name(*ending), *exited_zero, duration);
            }
            Err(error) if errors::is_internal(ruby, error) => {
                ledger::record("internal_error", false, duration);
            }
            Err(_) => ledger::record("interrupted", false, duration),
        }
        ended.map(|(result, _)| result)
    })
}

/// The command and hooks of one run: output reaches Ruby as soon as it is
/// read when a line hook wants it, and a progress report wakes the wait only
/// when `on_progress` was given.
pub(crate) fn prepare(
    ruby: &Ruby,
    call: Value,
    argv: RArray,
    bound: f64,
    hooks: Option<RHash>,
) -> Result<(Command, Hooks), Error> {
    let hooks = Hooks::from_hash(ruby, hooks)?;
    let mut command = command(ruby, call, argv, bound)?;
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

    /// The finished run of `argv` as a `Result`, after the hooks (when
    /// `deliver`) got the rest of the output and the last progress reports.
    pub(crate) fn conclude(
        mut self,
        ruby: &Ruby,
        argv: RArray,
        mut outcome: Outcome,
        last_progress: Vec<Progress>,
        deliver: bool,
    ) -> Result<Value, Error> {
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
        result::build(ruby, argv, &outcome, self.stdout, self.stderr)
    }
}

/// Waits for `execution` with the GVL released, handing output to the hooks
/// as it comes, until it ends: its `Result`, with its ending and whether it
/// exited 0. An exception from the calling thread or from a hook (or one
/// already in `interruption`) ends the program; once one did, hooks are not
/// called again, and it is raised once the group is ended and reaped.
fn drive(
    ruby: &Ruby,
    mut execution: Execution,
    mut gathered: Gathered,
    argv: RArray,
    mut interruption: Option<Error>,
) -> Result<(Value, (Ending, bool)), Error> {
    let waker = execution.waker();
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
    let ended = (outcome.ending, outcome.status.code() == Some(0));
    let result = gathered.conclude(ruby, argv, *outcome, last_progress, true)?;
    Ok((result, ended))
}

/// Kills every process group this process still runs; for `at_exit`.
pub(crate) fn kill_all_running() -> usize {
    gazette_runner_core::kill_all_running()
}
