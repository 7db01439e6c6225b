//! Errors from describing or starting a program. What happens to a program once
//! it runs (exit, signal, timeout) is an [`crate::Outcome`], not an error.

use std::io;

/// The command description is unusable; nothing was started.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandError {
    /// `argv` had no program.
    #[error("argv must name a program")]
    EmptyArgv,
    /// A string held a NUL byte, which no C string can carry.
    #[error("{0} contains a NUL byte")]
    Nul(&'static str),
    /// An environment variable name was empty or held `=`.
    #[error("invalid environment variable name {0:?}")]
    BadEnvName(String),
    /// A zero timeout would end every program at once.
    #[error("timeout must be greater than zero")]
    ZeroTimeout,
}

/// The program could not be started.
#[derive(Debug, thiserror::Error)]
#[error("could not start {program}: {step}: {source}")]
pub struct SpawnError {
    /// The program as given in argv.
    pub program: String,
    /// What failed: `"exec"`, `"chdir"`, `"pipe"`, `"pidfd"`, ...
    pub step: &'static str,
    /// The operating system's reason.
    #[source]
    pub source: io::Error,
}

impl SpawnError {
    /// The `errno` behind the failure, when there is one.
    #[must_use]
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}
