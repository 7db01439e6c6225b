//! `GazetteRunner::Native::Batch`: many runs on the calling thread, waited on
//! by one native loop with the GVL released once per wait. Which command
//! starts when, and what a failure means for the others, is decided in Ruby
//! (`lib/gazette_runner/batch.rb`); this only starts, waits, cancels and ends.
//!
//! The Ruby values of each run (its output Strings and hooks) are kept in
//! `slots` and marked for the GC. `slots` is borrowed only to take a slot out
//! or put it back, never while Ruby code runs or memory is allocated by Ruby,
//! so a mark always finds it free; a slot taken out lives on the stack, where
//! the GC sees it as it sees a single run's.

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use gazette_runner_core::{Batch, BatchStep};
use magnus::{
    gc::Marker, method, prelude::*, value::Opaque, DataTypeFunctions, Error, IntoValue, RArray,
    RHash, RModule, RString, Ruby, TypedData, Value,
};

use crate::errors;
use crate::execute::{announce, plain_argv, prepare, spawn_plain, Gathered};
use crate::hooks::Hooks;
use crate::ledger;
use crate::nogvl::without_gvl;
use crate::result::ending_name;
use crate::running::{self, Registration};

/// One run's Ruby side while it is in the batch.
struct Slot {
    argv: Opaque<RArray>,
    stdout: Opaque<RString>,
    stderr: Opaque<RString>,
    hooks: Hooks,
    /// Its entry in `GazetteRunner.running`, removed with the slot.
    listed: Registration,
    /// False once a hook raised or the run was cancelled: no hook is called again.
    deliver: bool,
}

impl Slot {
    fn keep(argv: RArray, gathered: Gathered, listed: Registration, deliver: bool) -> Self {
        Self {
            argv: argv.into(),
            stdout: gathered.stdout.into(),
            stderr: gathered.stderr.into(),
            hooks: gathered.hooks,
            listed,
            deliver,
        }
    }

    /// The run's argv and what it gathered, its listing, and whether hooks are still called.
    fn open(self, ruby: &Ruby) -> (RArray, Gathered, Registration, bool) {
        let gathered = Gathered {
            stdout: ruby.get_inner(self.stdout),
            stderr: ruby.get_inner(self.stderr),
            hooks: self.hooks,
        };
        (
            ruby.get_inner(self.argv),
            gathered,
            self.listed,
            self.deliver,
        )
    }
}

/// A plain run in the batch (`start_plain`), which records its own ending
/// for the stats, as `Native.run` does.
#[derive(Clone, Copy)]
struct Plain {
    started: Instant,
    /// Ended by `cancel`: it counts as interrupted, whatever its status.
    cancelled: bool,
}

#[derive(TypedData)]
#[magnus(class = "GazetteRunner::Native::Batch", size, mark)]
pub(crate) struct NativeBatch {
    core: RefCell<Batch>,
    slots: RefCell<HashMap<u64, Slot>>,
    plain: RefCell<HashMap<u64, Plain>>,
    next_key: Cell<u64>,
}

impl DataTypeFunctions for NativeBatch {
    fn mark(&self, marker: &Marker) {
        if let Ok(slots) = self.slots.try_borrow() {
            for slot in slots.values() {
                marker.mark(slot.argv);
                marker.mark(slot.stdout);
                marker.mark(slot.stderr);
                slot.hooks.mark(marker);
            }
        }
    }
}

/// At most this many runs come back from one `wait`.
const EVENTS_PER_WAIT: usize = 64;

/// Whether a wait of the core batch releases the GVL.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gvl {
    /// It may block: other Ruby threads run meanwhile.
    Release,
    /// It only looks at what is ready (its limit is now): not worth a release.
    Keep,
}

/// What a wait of the batch came back with, in Ruby terms.
enum Event {
    /// `[key, finished, outcome or nil, hook error or nil]`.
    Run(RArray),
    /// The limit passed, or nothing is left to wait for.
    Idle,
}

impl NativeBatch {
    fn new(ruby: &Ruby) -> Result<Self, Error> {
        let core = Batch::new().map_err(|e| {
            errors::spawn_failure(ruby, &format!("could not make the batch's waker: {e}"))
        })?;
        Ok(Self {
            core: RefCell::new(core),
            slots: RefCell::new(HashMap::new()),
            plain: RefCell::new(HashMap::new()),
            next_key: Cell::new(1),
        })
    }

    fn core(&self, ruby: &Ruby) -> Result<RefMut<'_, Batch>, Error> {
        self.core
            .try_borrow_mut()
            .map_err(|_| errors::internal_error(ruby, "the batch was used from two places at once"))
    }

    /// `start(call, bound, observer, hooks)`: spawns the program `call`
    /// describes and adds it; returns its key.
    fn start(
        ruby: &Ruby,
        rb_self: &Self,
        call: Value,
        bound: f64,
        observer: Value,
        hooks: Option<RHash>,
    ) -> Result<u64, Error> {
        errors::shielded(ruby, || {
            let argv: RArray = call.funcall("argv", ())?;
            let (command, hooks) = prepare(ruby, call, argv, bound, hooks)?;
            let execution = command.spawn().map_err(|e| errors::spawn_error(ruby, &e))?;
            let listed = running::register(ruby, &execution, argv, bound);
            let key = rb_self.next_key.get();
            rb_self.next_key.set(key + 1);
            // In the batch whatever the observer did: a program whose observer
            // raised (an interrupt arriving there) is ended and reaped with the batch.
            let announced = announce(observer, &execution);
            rb_self.core(ruby)?.add(key, execution);
            let gathered = Gathered::new(ruby, hooks);
            rb_self
                .slots
                .borrow_mut()
                .insert(key, Slot::keep(argv, gathered, listed, announced.is_ok()));
            if let Err(error) = announced {
                if let Some(execution) = rb_self.core(ruby)?.get_mut(key) {
                    execution.interrupt();
                }
                return Err(error);
            }
            Ok(key)
        })
    }

    /// `start_plain(argv, bound, kill_after, max_output)`: spawns `argv`
    /// (frozen, of frozen Strings) with every other option at its default and
    /// adds it; it records its own ending for the stats. Returns its key.
    fn start_plain(
        ruby: &Ruby,
        rb_self: &Self,
        argv: Value,
        bound: f64,
        kill_after: f64,
        max_output: usize,
    ) -> Result<u64, Error> {
        errors::shielded(ruby, || {
            let Some(argv) = plain_argv(ruby, argv)? else {
                return Err(errors::internal_error(
                    ruby,
                    "a batch's plain argv was not plain",
                ));
            };
            let (execution, started) = spawn_plain(ruby, argv, bound, kill_after, max_output)?;
            let listed = running::register(ruby, &execution, argv, bound);
            let key = rb_self.next_key.get();
            rb_self.next_key.set(key + 1);
            rb_self.core(ruby)?.add(key, execution);
            let gathered = Gathered::new(ruby, Hooks::from_hash(ruby, None)?);
            rb_self
                .slots
                .borrow_mut()
                .insert(key, Slot::keep(argv, gathered, listed, true));
            let plain = Plain {
                started,
                cancelled: false,
            };
            rb_self.plain.borrow_mut().insert(key, plain);
            Ok(key)
        })
    }

    /// `wait(seconds or nil)`: the runs that finished or whose hook raised,
    /// each as `[key, finished, outcome, hook_error]`, or nil once `seconds`
    /// have passed or nothing runs. Runs that finished while the first was
    /// awaited come back in the same call: one release of the GVL for them
    /// all. An interrupt of the calling thread ends and reaps every run before
    /// it is raised.
    fn wait(ruby: &Ruby, rb_self: &Self, seconds: Option<f64>) -> Result<Value, Error> {
        errors::shielded(ruby, || {
            let until = match seconds {
                Some(seconds) => Some(deadline(ruby, seconds)?),
                None => None,
            };
            let Event::Run(first) = rb_self.next_event(ruby, until, Gvl::Release)? else {
                return Ok(ruby.qnil().as_value());
            };
            let events = ruby.ary_new_capa(1);
            events.push(first)?;
            while events.len() < EVENTS_PER_WAIT {
                match rb_self.next_event(ruby, Some(Instant::now()), Gvl::Keep)? {
                    Event::Run(event) => events.push(event)?,
                    Event::Idle => break,
                }
            }
            Ok(events.as_value())
        })
    }

    fn next_event(&self, ruby: &Ruby, until: Option<Instant>, gvl: Gvl) -> Result<Event, Error> {
        loop {
            match self.step(ruby, until, gvl)? {
                BatchStep::Finished(key, outcome, progress) => {
                    let Some(slot) = self.slots.borrow_mut().remove(&key) else {
                        continue;
                    };
                    let (argv, gathered, listed, deliver) = slot.open(ruby);
                    drop(listed); // reaped
                    let plain = self.plain.borrow_mut().remove(&key);
                    if let Some(plain) = plain {
                        let ending = if plain.cancelled {
                            "interrupted"
                        } else {
                            ending_name(outcome.ending)
                        };
                        let duration = Some(plain.started.elapsed().as_secs_f64());
                        ledger::record(ending, outcome.status.code() == Some(0), duration);
                    }
                    let event = match gathered.conclude(ruby, argv, *outcome, progress, deliver) {
                        Ok(result) => [
                            key.into_value_with(ruby),
                            true.into_value_with(ruby),
                            result,
                            ruby.qnil().as_value(),
                        ],
                        Err(error) => [
                            key.into_value_with(ruby),
                            true.into_value_with(ruby),
                            ruby.qnil().as_value(),
                            self.hook_error(ruby, error)?,
                        ],
                    };
                    return Ok(Event::Run(ruby.ary_new_from_values(&event)));
                }
                BatchStep::Output(key) => {
                    if let Some(error) = self.hand_over(ruby, key)? {
                        let event = [
                            key.into_value_with(ruby),
                            false.into_value_with(ruby),
                            ruby.qnil().as_value(),
                            self.hook_error(ruby, error)?,
                        ];
                        return Ok(Event::Run(ruby.ary_new_from_values(&event)));
                    }
                }
                BatchStep::Woken => {
                    if let Err(error) = ruby.thread_check_ints() {
                        return Err(self.end_all(ruby).unwrap_or(error));
                    }
                    if self.core(ruby)?.is_empty() || until.is_some_and(|at| Instant::now() >= at) {
                        return Ok(Event::Idle);
                    }
                }
            }
        }
    }

    /// One wait of the core batch, with the GVL released unless the wait
    /// only looks at what is ready now.
    fn step(&self, ruby: &Ruby, until: Option<Instant>, gvl: Gvl) -> Result<BatchStep, Error> {
        let mut core = self.core(ruby)?;
        if gvl == Gvl::Keep {
            return Ok(core.wait(until));
        }
        let waker = core.waker();
        match without_gvl(&waker, || core.wait(until)) {
            Some(Ok(step)) => Ok(step),
            Some(Err(_panic)) => Err(errors::internal_error(
                ruby,
                "the batch's wait loop panicked",
            )),
            // Ruby had an interrupt pending: do what is ready without blocking.
            None => Ok(core.wait(Some(Instant::now()))),
        }
    }

    /// Takes a run's output and gives it to its hooks; a hook's error ends the
    /// run (its hooks are not called again) and is returned.
    fn hand_over(&self, ruby: &Ruby, key: u64) -> Result<Option<Error>, Error> {
        let Some(slot) = self.slots.borrow_mut().remove(&key) else {
            return Ok(None);
        };
        let (argv, mut gathered, listed, mut deliver) = slot.open(ruby);
        let mut core = self.core(ruby)?;
        let Some(execution) = core.get_mut(key) else {
            return Ok(None);
        };
        let failed = gathered.take(ruby, execution, deliver).err();
        if failed.is_some() {
            execution.interrupt();
            deliver = false;
        }
        drop(core);
        self.slots
            .borrow_mut()
            .insert(key, Slot::keep(argv, gathered, listed, deliver));
        Ok(failed)
    }

    /// A hook's exception as a value for Ruby to decide on; a non-local exit
    /// (`throw`, `Thread#kill`) is not a value: every run is ended, then it goes on.
    fn hook_error(&self, ruby: &Ruby, error: Error) -> Result<Value, Error> {
        match error.value() {
            Some(exception) => Ok(exception),
            None => Err(self.end_all(ruby).unwrap_or(error)),
        }
    }

    /// `cancel(key)`: ends that run (`SIGTERM`, `SIGKILL` after its
    /// `kill_after`); its hooks are not called again. False when it is not running.
    fn cancel(ruby: &Ruby, rb_self: &Self, key: u64) -> Result<bool, Error> {
        errors::shielded(ruby, || {
            let cancelled = rb_self
                .core(ruby)?
                .get_mut(key)
                .map(gazette_runner_core::Execution::cancel);
            if let Some(slot) = rb_self.slots.borrow_mut().get_mut(&key) {
                slot.deliver = false;
            }
            if let Some(plain) = rb_self.plain.borrow_mut().get_mut(&key) {
                plain.cancelled = true;
            }
            Ok(cancelled.is_some())
        })
    }

    /// `abort`: ends every run (`SIGKILL` within a second) and reaps them all,
    /// calling no hook; returns how many were running. An interrupt that
    /// arrives meanwhile is raised once all are reaped.
    fn abort(ruby: &Ruby, rb_self: &Self) -> Result<usize, Error> {
        errors::shielded(ruby, || {
            let running = rb_self.core(ruby)?.len();
            match rb_self.end_all(ruby) {
                Some(error) => Err(error),
                None => Ok(running),
            }
        })
    }

    /// Interrupts and reaps every run; the latest interrupt that arrived meanwhile, if any.
    fn end_all(&self, ruby: &Ruby) -> Option<Error> {
        let mut interruption = None;
        let Ok(mut core) = self.core(ruby) else {
            return Some(errors::internal_error(
                ruby,
                "the batch was used from two places at once",
            ));
        };
        core.interrupt_all();
        while !core.is_empty() {
            let waker = core.waker();
            let step = match without_gvl(&waker, || core.wait(None)) {
                Some(Ok(step)) => step,
                Some(Err(_panic)) => break, // the members are dropped with the batch: killed and reaped
                None => core.wait(Some(Instant::now())),
            };
            match step {
                BatchStep::Output(key) => {
                    if let Some(execution) = core.get_mut(key) {
                        execution.take_output(gazette_runner_core::Stream::Stdout);
                        execution.take_output(gazette_runner_core::Stream::Stderr);
                        execution.take_progress();
                    }
                }
                BatchStep::Woken => {
                    if let Err(error) = ruby.thread_check_ints() {
                        interruption = Some(error);
                    }
                }
                BatchStep::Finished(..) => {}
            }
        }
        drop(core);
        self.slots.borrow_mut().clear();
        for (_, plain) in self.plain.borrow_mut().drain() {
            ledger::record(
                "interrupted",
                false,
                Some(plain.started.elapsed().as_secs_f64()),
            );
        }
        interruption
    }
}

/// `seconds` from now; the Ruby layer checked the range, this only refuses the absurd.
fn deadline(ruby: &Ruby, seconds: f64) -> Result<Instant, Error> {
    let wait = Duration::try_from_secs_f64(seconds.max(0.0))
        .map_err(|_| Error::new(ruby.exception_arg_error(), "wait out of range"))?;
    Ok(Instant::now()
        .checked_add(wait)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(u64::from(u32::MAX))))
}

/// Looks the wrapped class up once, at load (see `init`).
pub(crate) fn resolve(ruby: &Ruby) {
    NativeBatch::class(ruby);
}

pub(crate) fn define(ruby: &Ruby, native: RModule) -> Result<(), Error> {
    let class = native.define_class("Batch", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("new", magnus::function!(new_batch, 0))?;
    class.define_method("start", method!(NativeBatch::start, 4))?;
    class.define_method("start_plain", method!(NativeBatch::start_plain, 4))?;
    class.define_method("wait", method!(NativeBatch::wait, 1))?;
    class.define_method("cancel", method!(NativeBatch::cancel, 1))?;
    class.define_method("abort", method!(NativeBatch::abort, 0))?;
    Ok(())
}

fn new_batch(ruby: &Ruby) -> Result<NativeBatch, Error> {
    errors::shielded(ruby, || NativeBatch::new(ruby))
}
