//! Many programs driven by one loop on one thread: one `poll` over every
//! member's pidfd and pipes and one waker, instead of a thread per program.
//!
//! Each member keeps its own bound and kill escalation (the supervisor thread
//! holds them as for a single run), its own capture and its own outcome; the
//! batch only decides whose turn it is. Which members to start, and what a
//! failure means for the others, is the caller's policy.

use std::io;
use std::time::Instant;

use crate::execution::{Execution, Step};
use crate::outcome::Outcome;
use crate::poll::{self, Interest};
use crate::progress::Progress;
use crate::waker::Waker;

/// What [`Batch::wait`] returned for.
#[derive(Debug)]
pub enum BatchStep {
    /// The member added under this key is finished and has left the batch;
    /// with it, the progress reports read since they were last taken.
    Finished(u64, Box<Outcome>, Vec<Progress>),
    /// The member under this key has output to hand over (see [`Step::Output`]).
    Output(u64),
    /// The batch's [`Waker`] was used, or the wait's limit passed.
    Woken,
}

#[derive(Debug)]
struct Member {
    key: u64,
    execution: Execution,
}

/// Running programs waited on together. Dropping it drops every member that
/// is still running, which kills its group with `SIGKILL` and reaps it.
#[derive(Debug)]
pub struct Batch {
    waker: Waker,
    members: Vec<Member>,
}

impl Batch {
    /// An empty batch.
    ///
    /// # Errors
    /// When the waker's descriptor cannot be made (no descriptors left).
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            waker: Waker::new()?,
            members: Vec::new(),
        })
    }

    /// Adds a running program; `key` names it in what [`Batch::wait`] returns.
    pub fn add(&mut self, key: u64, execution: Execution) {
        self.members.push(Member { key, execution });
    }

    /// The member added under `key`, while it has not finished.
    pub fn get_mut(&mut self, key: u64) -> Option<&mut Execution> {
        self.members
            .iter_mut()
            .find(|member| member.key == key)
            .map(|member| &mut member.execution)
    }

    /// How many members have not finished.
    #[must_use]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when no member is left.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// A handle that makes [`Batch::wait`] return [`BatchStep::Woken`] from another thread.
    #[must_use]
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Ends every member as [`Execution::interrupt`] does; keep waiting to reap them.
    pub fn interrupt_all(&mut self) {
        for member in &mut self.members {
            member.execution.interrupt();
        }
    }

    /// Drives every member until one finishes or has output to hand over, the
    /// waker is used, or `until` passes. On an empty batch it returns
    /// [`BatchStep::Woken`] at once rather than wait for nothing.
    pub fn wait(&mut self, until: Option<Instant>) -> BatchStep {
        loop {
            if self.members.is_empty() {
                return BatchStep::Woken;
            }
            let now = Instant::now();
            if let Some(step) = self.due(now) {
                return step;
            }
            let wake_at = self
                .members
                .iter()
                .filter_map(|member| member.execution.wake_at(None))
                .chain(until)
                .min();
            let round = {
                let interests: Vec<Interest<'_>> = self
                    .members
                    .iter()
                    .map(|member| member.execution.interest())
                    .collect();
                poll::wait(
                    self.waker.fd(),
                    &interests,
                    wake_at.map(|at| at.saturating_duration_since(now)),
                )
            };
            for (member, ready) in self.members.iter_mut().zip(round.ready) {
                member.execution.on_ready(ready);
            }
            if round.woken {
                self.waker.reset();
                return BatchStep::Woken;
            }
            if until.is_some_and(|at| Instant::now() >= at) {
                return BatchStep::Woken;
            }
        }
    }

    /// The first member with something to hand over; a finished one leaves the batch.
    fn due(&mut self, now: Instant) -> Option<BatchStep> {
        for index in 0..self.members.len() {
            match self.members[index].execution.due(now) {
                Some(Step::Finished(outcome)) => {
                    let mut member = self.members.remove(index);
                    let progress = member.execution.take_progress();
                    return Some(BatchStep::Finished(member.key, outcome, progress));
                }
                Some(Step::Output) => return Some(BatchStep::Output(self.members[index].key)),
                _ => {}
            }
        }
        None
    }
}
