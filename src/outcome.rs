//! What came out of one run.

use std::time::Duration;

/// How the program itself ended, as the kernel reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It called `exit` with this code.
    Exited(i32),
    /// A signal with this number ended it.
    Signaled(i32),
    /// Somebody else reaped it first (a host `trap("CHLD") { Process.wait }`),
    /// so its status could not be read.
    Unknown,
}

impl ExitStatus {
    /// The exit code, when it exited.
    #[must_use]
    pub fn code(self) -> Option<i32> {
        match self {
            Self::Exited(code) => Some(code),
            _ => None,
        }
    }

    /// The signal number, when a signal ended it.
    #[must_use]
    pub fn signal(self) -> Option<i32> {
        match self {
            Self::Signaled(signal) => Some(signal),
            _ => None,
        }
    }
}

/// One of the program's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Why the supervisor ended the process group, when it had to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The program ended on its own.
    Natural,
    /// The time bound passed.
    Timeout,
    /// A stream went past `max_output`.
    OutputLimit(Stream),
    /// The caller asked for it ([`crate::Execution::interrupt`]).
    Interrupted,
}

/// The result of a finished run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The program's process id (also its process-group id).
    pub pid: u32,
    /// How the program ended.
    pub status: ExitStatus,
    /// Whether the supervisor had to end it, and why.
    pub ending: Ending,
    /// Standard output not yet taken with [`crate::Execution::take_output`].
    pub stdout: Vec<u8>,
    /// Standard error not yet taken.
    pub stderr: Vec<u8>,
    /// Total bytes kept per stream, including what was taken earlier.
    pub stdout_bytes: u64,
    /// Total bytes of standard error kept.
    pub stderr_bytes: u64,
    /// From spawn to reap.
    pub duration: Duration,
    /// Peak resident set size of the program in bytes (from `waitid`'s rusage),
    /// when it could be read.
    pub max_rss: Option<u64>,
    /// The latest progress report read from stderr, if any (see [`crate::progress`]).
    pub progress: Option<crate::progress::Progress>,
    /// When the group was sent `SIGTERM` and `SIGKILL`, if it was: the truth
    /// about when the program was ended, even when the caller returned later.
    pub signals: crate::escalation::Signals,
    /// Members of the group were still alive after the program ended and had to be ended.
    pub killed_leftovers: bool,
    /// The program could not be reaped even after `SIGKILL` (uninterruptible sleep).
    pub abandoned: bool,
}
