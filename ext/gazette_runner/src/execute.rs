//! `GazetteRunner::Native.execute`: one run, from Ruby values to a raw result Array.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use gazette_runner_core::{Command, Ending, Limits, Step, Stream};
use magnus::{prelude::*, Error, IntoValue, RArray, RHash, RString, Ruby, TryConvert, Value};

use crate::errors;
use crate::hooks::Hooks;
use crate::nogvl::without_gvl;

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

/// Seconds as given by Ruby (already checked positive and finite there).
fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(Duration::MAX)
}

#[allow(clippy::too_many_arguments)]
fn command(
    ruby: &Ruby,
    argv: RArray,
    env: RArray,
    clear_env: bool,
    chdir: Option<RString>,
    stdin: Option<RString>,
    timeout: f64,
    kill_after: f64,
    max_output: usize,
    limits: (Option<u64>, Option<u64>),
) -> Result<Command, Error> {
    let invalid = |e| errors::argument_error(ruby, &e);
    let argv = each(argv, |arg: RString| Ok(os(arg)))?;
    let mut command = Command::new(argv, seconds(timeout)).map_err(invalid)?;
    let env = each(env, |pair: RArray| {
        Ok((
            os(pair.entry(0)?),
            pair.entry::<Option<RString>>(1)?.map(os),
        ))
    })?;
    for (name, value) in env {
        command.env(name, value).map_err(invalid)?;
    }
    if let Some(dir) = chdir {
        command.cwd(os(dir)).map_err(invalid)?;
    }
    if let Some(input) = stdin {
        command.stdin(bytes(input));
    }
    command
        .clear_env(clear_env)
        .kill_after(seconds(kill_after))
        .max_output(max_output)
        .limits(Limits {
            memory_bytes: limits.0,
            cpu_seconds: limits.1,
        })
        .flush_at(HAND_OVER_BYTES);
    Ok(command)
}

/// Runs one program, reporting to `hooks` (see [`Hooks`]) as it goes, and returns
/// `[pid, exit_code, signal, ending, stdout, stderr, duration, max_rss,
/// killed_leftovers, abandoned, progress]` (`progress` is `[percent, message]` or nil).
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    ruby: &Ruby,
    argv: RArray,
    env: RArray,
    clear_env: bool,
    chdir: Option<RString>,
    stdin: Option<RString>,
    timeout: f64,
    kill_after: f64,
    max_output: usize,
    memory_limit: Option<u64>,
    cpu_limit: Option<u64>,
    hooks: Option<RHash>,
) -> Result<RArray, Error> {
    let mut hooks = Hooks::from_hash(ruby, hooks)?;
    let mut command = command(
        ruby,
        argv,
        env,
        clear_env,
        chdir,
        stdin,
        timeout,
        kill_after,
        max_output,
        (memory_limit, cpu_limit),
    )?;
    if hooks.streaming() {
        command.flush_at(1);
    }
    let mut execution = command.spawn().map_err(|e| errors::spawn_error(ruby, &e))?;
    let waker = execution.waker();
    let stdout = ruby.str_buf_new(0);
    let stderr = ruby.str_buf_new(0);
    // An exception from the calling thread or from a hook ends the program;
    // once one did, hooks are not called again.
    let mut interruption: Option<Error> = hooks.spawned(execution.pid()).err();
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
    stdout.cat(&outcome.stdout);
    stderr.cat(&outcome.stderr);
    hooks.output(ruby, Stream::Stdout, &outcome.stdout)?;
    hooks.output(ruby, Stream::Stderr, &outcome.stderr)?;
    hooks.finish(ruby)?;
    hooks.progress(ruby, execution.take_progress())?;
    let ending = match outcome.ending {
        Ending::Natural => "natural",
        Ending::Timeout => "timeout",
        Ending::OutputLimit(Stream::Stdout) => "stdout_limit",
        Ending::OutputLimit(Stream::Stderr) => "stderr_limit",
        Ending::Interrupted => "interrupted",
    };
    let progress = outcome.progress.as_ref().map(|p| {
        ruby.ary_new_from_values(&[
            p.percent.into_value_with(ruby),
            p.message
                .as_deref()
                .map(|m| ruby.str_new(m))
                .into_value_with(ruby),
        ])
    });
    let fields: [Value; 11] = [
        outcome.pid.into_value_with(ruby),
        outcome.status.code().into_value_with(ruby),
        outcome.status.signal().into_value_with(ruby),
        ruby.to_symbol(ending).into_value_with(ruby),
        stdout.as_value(),
        stderr.as_value(),
        outcome.duration.as_secs_f64().into_value_with(ruby),
        outcome.max_rss.into_value_with(ruby),
        outcome.killed_leftovers.into_value_with(ruby),
        outcome.abandoned.into_value_with(ruby),
        progress.into_value_with(ruby),
    ];
    Ok(ruby.ary_new_from_values(&fields))
}

/// Kills every process group this process still runs; for `at_exit`.
pub(crate) fn kill_all_running() -> usize {
    gazette_runner_core::kill_all_running()
}
