//! What to run: the description that goes into [`Command::spawn`].

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::CommandError;

/// Kernel resource limits applied to the program before it starts (`setrlimit`).
///
/// They bound the program itself; each process it starts inherits the same
/// limits but counts separately.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Address-space limit in bytes (`RLIMIT_AS`): allocations beyond it fail.
    pub memory_bytes: Option<u64>,
    /// CPU-time limit in seconds (`RLIMIT_CPU`): the kernel sends `SIGXCPU`, then `SIGKILL`.
    pub cpu_seconds: Option<u64>,
}

impl Limits {
    /// True when no limit is asked for, so the spawn can take the `posix_spawn` path.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.memory_bytes.is_none() && self.cpu_seconds.is_none()
    }
}

/// A program to run and how to bound it.
#[derive(Debug, Clone)]
pub struct Command {
    pub(crate) argv: Vec<OsString>,
    pub(crate) env: Vec<(OsString, Option<OsString>)>,
    pub(crate) clear_env: bool,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) stdin: Option<Vec<u8>>,
    pub(crate) timeout: Duration,
    pub(crate) kill_after: Duration,
    pub(crate) max_output: usize,
    pub(crate) limits: Limits,
    pub(crate) flush_at: Option<usize>,
    pub(crate) wake_on_progress: bool,
}

impl Command {
    /// Default grace between `SIGTERM` and `SIGKILL`.
    pub const DEFAULT_KILL_AFTER: Duration = Duration::from_secs(5);
    /// Default number of bytes kept per stream.
    pub const DEFAULT_MAX_OUTPUT: usize = 64 << 20;

    /// A command running `argv` (program first) within `timeout`.
    ///
    /// # Errors
    /// [`CommandError`] when `argv` is empty, an element holds a NUL byte, or
    /// `timeout` is zero.
    pub fn new<I, S>(argv: I, timeout: Duration) -> Result<Self, CommandError>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
        if argv.is_empty() {
            return Err(CommandError::EmptyArgv);
        }
        for arg in &argv {
            reject_nul("argv element", arg)?;
        }
        if timeout.is_zero() {
            return Err(CommandError::ZeroTimeout);
        }
        Ok(Self {
            argv,
            env: Vec::new(),
            clear_env: false,
            cwd: None,
            stdin: None,
            timeout,
            kill_after: Self::DEFAULT_KILL_AFTER,
            max_output: Self::DEFAULT_MAX_OUTPUT,
            limits: Limits::default(),
            flush_at: None,
            wake_on_progress: false,
        })
    }

    /// Sets (`Some`) or unsets (`None`) one environment variable over the inherited ones.
    ///
    /// # Errors
    /// [`CommandError`] when the name is empty or holds `=` or NUL, or the value holds NUL.
    pub fn env(
        &mut self,
        name: impl Into<OsString>,
        value: Option<impl Into<OsString>>,
    ) -> Result<&mut Self, CommandError> {
        let name = name.into();
        if name.is_empty() || name.as_encoded_bytes().contains(&b'=') {
            return Err(CommandError::BadEnvName(
                name.to_string_lossy().into_owned(),
            ));
        }
        reject_nul("environment variable name", &name)?;
        let value = value.map(Into::into);
        if let Some(value) = &value {
            reject_nul("environment variable value", value)?;
        }
        self.env.push((name, value));
        Ok(self)
    }

    /// When true the program gets only the variables set with [`Command::env`].
    pub fn clear_env(&mut self, clear: bool) -> &mut Self {
        self.clear_env = clear;
        self
    }

    /// Runs the program in `dir`.
    ///
    /// # Errors
    /// [`CommandError`] when the path holds a NUL byte.
    pub fn cwd(&mut self, dir: impl Into<PathBuf>) -> Result<&mut Self, CommandError> {
        let dir = dir.into();
        reject_nul("working directory", dir.as_os_str())?;
        self.cwd = Some(dir);
        Ok(self)
    }

    /// Feeds `bytes` to the program's stdin, then closes it. Without this the
    /// program's stdin is `/dev/null`, so a program that reads it sees end of file.
    pub fn stdin(&mut self, bytes: Vec<u8>) -> &mut Self {
        self.stdin = Some(bytes);
        self
    }

    /// Grace between `SIGTERM` and `SIGKILL` when the group must be ended.
    pub fn kill_after(&mut self, grace: Duration) -> &mut Self {
        self.kill_after = grace;
        self
    }

    /// Bytes kept per stream; more than that ends the program.
    pub fn max_output(&mut self, bytes: usize) -> &mut Self {
        self.max_output = bytes;
        self
    }

    /// Resource limits for the program.
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// Makes [`crate::Execution::wait`] return [`crate::Step::Output`] whenever a
    /// stream holds at least `bytes` not yet taken, so a caller can hand output
    /// over in pieces instead of holding all of it twice.
    pub fn flush_at(&mut self, bytes: usize) -> &mut Self {
        self.flush_at = Some(bytes.max(1));
        self
    }

    /// With [`Command::flush_at`], also return [`crate::Step::Output`] as soon as
    /// a progress report arrives, for a caller that reacts to each one. Without
    /// it, reports are only kept (see [`crate::Execution::latest_progress`]).
    pub fn wake_on_progress(&mut self, wake: bool) -> &mut Self {
        self.wake_on_progress = wake;
        self
    }

    /// The program and its arguments.
    #[must_use]
    pub fn argv(&self) -> &[OsString] {
        &self.argv
    }

    /// The time bound.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The working directory, if one was set.
    #[must_use]
    pub fn working_dir(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }
}

fn reject_nul(what: &'static str, value: &OsStr) -> Result<(), CommandError> {
    if value.as_encoded_bytes().contains(&0) {
        return Err(CommandError::Nul(what));
    }
    Ok(())
}
