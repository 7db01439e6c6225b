//! The core of the `gazette_runner` gem: run one program with a hard time bound,
//! end everything it started, and capture what it printed — without touching Ruby.
//!
//! A [`Command`] describes what to run (argv, environment, working directory,
//! stdin, limits). [`Command::spawn`] starts it in a process group of its own and
//! returns an [`Execution`]; [`Execution::wait`] drives the read/wait loop until
//! the program and its group are gone, and yields an [`Outcome`] (status, output,
//! timing, resource use). [`run`] does both in one call. A [`Batch`] drives many
//! executions from one thread, with one `poll` over all of them.
//!
//! [`json`] and [`schema`] validate what a program printed: exactly one JSON
//! document, optionally checked against a JSON Schema.
//!
//! # Guarantees and their limits
//! - **Bounded**: `wait` returns within `timeout + kill_after` plus a few
//!   milliseconds whatever the program does, unless the kernel cannot deliver
//!   `SIGKILL` (a process stuck in uninterruptible sleep); then it gives up after a
//!   further [`SETTLE_AFTER_KILL`] and the outcome says so.
//! - **Nothing left behind**: the program runs in its own process group. On
//!   timeout, output limit or interruption the group gets `SIGTERM` (and
//!   `SIGCONT`, so stopped members can act on it), then `SIGKILL` after
//!   `kill_after`. When the program exits normally, members still alive in its
//!   group get the same treatment. Processes that leave the group on purpose
//!   (`setsid`, `setpgid`) are out of reach of a group kill; they cannot delay the
//!   return either, since the loop stops reading once the group is gone.
//! - **No signal handlers**: the exit of the program is observed through a pidfd
//!   (Linux ≥ 5.3), so nothing is installed in the host process.
//! - **No descriptor leaks**: the program inherits only descriptors 0, 1 and 2;
//!   every descriptor the loop opens is closed when the [`Execution`] is dropped.
//!
//! The crate expects `SIGPIPE` to be ignored in the host (Ruby and Rust binaries
//! both do so); a write to the program's closed stdin then fails with `EPIPE`
//! instead of ending the host.
#![deny(missing_docs)]

mod batch;
mod capture;
mod command;
mod error;
mod escalation;
mod execution;
mod group;
pub mod json;
pub mod lines;
mod outcome;
mod pipes;
mod poll;
pub mod progress;
pub mod schema;
mod spawn;
mod supervisor;
mod waker;

pub use batch::{Batch, BatchStep};
pub use command::{Command, Limits};
pub use error::{CommandError, SpawnError};
pub use escalation::{Signals, SETTLE_AFTER_KILL};
pub use execution::{Execution, Step};
pub use outcome::{Ending, ExitStatus, Outcome, Stream};
pub use supervisor::kill_all_running;
pub use waker::Waker;

/// Spawns `command` and waits for it to finish, ignoring wake-ups.
///
/// # Errors
/// [`SpawnError`] when the program cannot be started.
pub fn run(command: &Command) -> Result<Outcome, SpawnError> {
    let mut execution = command.spawn()?;
    loop {
        if let Step::Finished(outcome) = execution.wait() {
            return Ok(*outcome);
        }
    }
}
