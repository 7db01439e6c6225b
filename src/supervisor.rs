//! The process-wide owner of time: one native thread that holds the
//! [`Escalation`] of every running group and sends `SIGTERM` and `SIGKILL` on
//! time, whatever the calling threads are doing.
//!
//! A calling thread drives its own program (reads its pipes, reaps it) and ticks
//! the same escalation whenever it is in native code; but when it leaves to run
//! Ruby (a callback, a progress report, an interrupt check) it may wait for
//! Ruby's GVL for seconds. The supervisor thread needs no GVL, so the bound
//! holds regardless.
//!
//! Its life: the thread starts with the first spawn in a process and then lives
//! as long as the process, asleep on a condition variable with no timeout while
//! nothing runs. A forked child inherits neither the thread nor any state: the
//! supervisor is per process id, and the child makes its own on its first spawn
//! (the parent's copy, whose locks another thread may have held at the fork, is
//! never touched in the child).

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::escalation::Escalation;

/// The table of running groups and the thread's state.
#[derive(Debug, Default)]
struct Table {
    groups: Vec<Arc<Mutex<Escalation>>>,
    thread_started: bool,
    /// When the thread will look again on its own; a new group due earlier wakes it.
    sleeping_until: Option<Instant>,
}

#[derive(Debug)]
struct Supervisor {
    owner: u32,
    table: Mutex<Table>,
    changed: Condvar,
}

static CURRENT: AtomicPtr<Supervisor> = AtomicPtr::new(ptr::null_mut());

fn this_process() -> u32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }.unsigned_abs()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a lock was held leaves plain data behind: keep going.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This process's supervisor, made on first use (and anew in a forked child).
/// One made for an earlier process id is left alone, never freed: the child
/// inherited it, and its locks may be held by a thread that does not exist here.
fn current() -> &'static Supervisor {
    let me = this_process();
    loop {
        let seen = CURRENT.load(Ordering::Acquire);
        // SAFETY: a non-null pointer in CURRENT is a leaked Box, never freed.
        if let Some(supervisor) = unsafe { seen.as_ref() } {
            if supervisor.owner == me {
                return supervisor;
            }
        }
        let fresh = Box::into_raw(Box::new(Supervisor {
            owner: me,
            table: Mutex::new(Table::default()),
            changed: Condvar::new(),
        }));
        match CURRENT.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: just stored; it stays alive for the rest of the process.
            Ok(_) => return unsafe { &*fresh },
            // SAFETY: `fresh` was never shared; another thread installed one first.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

/// Only an existing supervisor of this process, without making one.
fn existing() -> Option<&'static Supervisor> {
    // SAFETY: as in `current`.
    let supervisor = unsafe { CURRENT.load(Ordering::Acquire).as_ref() }?;
    (supervisor.owner == this_process()).then_some(supervisor)
}

/// Makes sure the supervisor thread runs, before anything is spawned that it
/// would have to bound.
///
/// # Errors
/// The OS refused a new thread.
pub(crate) fn ensure_running() -> std::io::Result<()> {
    let supervisor = current();
    let mut table = lock(&supervisor.table);
    if !table.thread_started {
        std::thread::Builder::new()
            .name("gazette-supervisor".into())
            .stack_size(64 * 1024)
            .spawn(move || supervisor.watch())?;
        table.thread_started = true;
    }
    Ok(())
}

/// An execution's hold on its group's escalation; dropping it takes the group
/// off the supervisor's table.
#[derive(Debug)]
pub(crate) struct Supervised {
    escalation: Arc<Mutex<Escalation>>,
    supervisor: &'static Supervisor,
}

/// Hands `escalation` to the supervisor (see [`ensure_running`]).
pub(crate) fn supervise(escalation: Escalation) -> Supervised {
    let supervisor = current();
    let due = escalation.next_timer();
    let escalation = Arc::new(Mutex::new(escalation));
    let mut table = lock(&supervisor.table);
    table.groups.push(Arc::clone(&escalation));
    let sooner = match (due, table.sleeping_until) {
        (Some(due), Some(until)) => due < until,
        (Some(_), None) => true,
        (None, _) => false,
    };
    drop(table);
    if sooner {
        supervisor.changed.notify_one();
    }
    Supervised {
        escalation,
        supervisor,
    }
}

impl Supervised {
    /// The escalation, locked. Keep the guard short: the supervisor thread waits for it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Escalation> {
        lock(&self.escalation)
    }

    /// Tells the thread that a timer may have moved earlier. Taking the table
    /// lock first means the thread is either about to read the new state or
    /// already waiting for this notification: it cannot miss it.
    pub(crate) fn timers_changed(&self) {
        drop(lock(&self.supervisor.table));
        self.supervisor.changed.notify_one();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if self.supervisor.owner != this_process() {
            return; // a forked child leaves its parent's table alone
        }
        let mut table = lock(&self.supervisor.table);
        if let Some(i) = table
            .groups
            .iter()
            .position(|group| Arc::ptr_eq(group, &self.escalation))
        {
            table.groups.swap_remove(i);
        }
    }
}

impl Supervisor {
    /// The thread: tick every group when a timer is due, sleep until the next one.
    fn watch(&self) {
        let mut table = lock(&self.table);
        loop {
            let now = Instant::now();
            let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                table
                    .groups
                    .iter()
                    .filter_map(|group| {
                        let mut escalation = lock(group);
                        escalation.tick(now);
                        escalation.next_timer()
                    })
                    .min()
            }))
            .unwrap_or_else(|_| {
                // Never expected (a tick is a few system calls); the thread must
                // not die of it, or every bound would rest on the callers alone.
                eprintln!("gazette_runner: the supervisor thread recovered from a panic");
                Some(now + Duration::from_millis(10))
            });
            table.sleeping_until = next;
            table = match next {
                None => self
                    .changed
                    .wait(table)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    self.changed
                        .wait_timeout(table, at.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

/// Sends `SIGKILL` to every group this process started that is still running;
/// for an exiting host (Ruby's `at_exit`). Returns how many groups were signalled.
// Not `#[must_use]`: the killing is the point; the count is only informative.
#[allow(clippy::must_use_candidate)]
pub fn kill_all_running() -> usize {
    let Some(supervisor) = existing() else {
        return 0;
    };
    let groups = lock(&supervisor.table).groups.clone();
    groups.iter().filter(|group| lock(group).kill_now()).count()
}
