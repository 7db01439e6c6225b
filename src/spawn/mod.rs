//! Starting the program: resolving it, building the C-level argv and envp, the
//! pipes, and handing over to the backend that fits (`posix_spawn` unless
//! resource limits are asked for).

mod limited;
mod posix;

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::command::{Command, Limits};
use crate::error::SpawnError;
use crate::pipes;

/// glibc's `execvp` default when the program's environment has no `PATH`.
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// A started program and the parent's ends of its pipes.
pub(crate) struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub stdin: Option<OwnedFd>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Everything the child needs, prepared in the parent: after the fork-like
/// step only async-signal-safe calls may run, so nothing is allocated there.
pub(super) struct Plan {
    pub program: CString,
    pub argv: Vec<CString>,
    pub env: Environment,
    pub cwd: Option<CString>,
    pub limits: Limits,
    /// The child's ends: stdin (`None` means `/dev/null`), stdout, stderr.
    pub stdin: Option<OwnedFd>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

impl Plan {
    pub fn argv_ptrs(&self) -> Vec<*const libc::c_char> {
        null_terminated(&self.argv)
    }

    /// Pointers to the built environment (empty when the host's is inherited);
    /// pass them to [`Plan::envp`], which must not outlive them.
    pub fn envp_ptrs(&self) -> Vec<*const libc::c_char> {
        match &self.env {
            Environment::Inherited => Vec::new(),
            Environment::Built(vars) => null_terminated(vars),
        }
    }

    pub fn envp(&self, built: &[*const libc::c_char]) -> *const *const libc::c_char {
        match self.env {
            // SAFETY: `environ` is only changed by setenv/putenv, which the host (Ruby) calls
            // holding the GVL, as the spawn does.
            Environment::Inherited => unsafe { libc::environ.cast_const().cast() },
            Environment::Built(_) => built.as_ptr(),
        }
    }
}

/// The program's environment: the host's own, passed as is (no copy, the
/// common case), or one built from it with the command's changes.
pub(super) enum Environment {
    Inherited,
    Built(Vec<CString>),
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Where a backend failed, so the error can say which step went wrong.
#[derive(Debug, Clone, Copy)]
pub(super) struct BackendError {
    pub step: &'static str,
    pub errno: i32,
}

pub(crate) fn spawn(command: &Command) -> Result<Spawned, SpawnError> {
    let program_name = command.argv[0].to_string_lossy().into_owned();
    let fail = |step: &'static str, source: io::Error| SpawnError {
        program: program_name.clone(),
        step,
        source,
    };

    let env = environment(command);
    let path_var = match &env {
        Environment::Inherited => std::env::var_os("PATH"),
        Environment::Built(vars) => vars
            .iter()
            .find_map(|var| var.as_bytes().strip_prefix(b"PATH="))
            .map(|value| OsStr::from_bytes(value).to_owned()),
    };
    let program = resolve(
        &command.argv[0],
        path_var.as_deref(),
        command.cwd.as_deref(),
    )
    .map_err(|e| fail("PATH lookup", e))?;
    if let Some(dir) = &command.cwd {
        check_dir(dir).map_err(|e| fail("chdir", e))?;
    }

    let (stdout_r, stdout_w) = pipes::pipe().map_err(|e| fail("pipe", e))?;
    let (stderr_r, stderr_w) = pipes::pipe().map_err(|e| fail("pipe", e))?;
    let (stdin_parent, stdin_child) = match &command.stdin {
        Some(_) => {
            let (r, w) = pipes::pipe().map_err(|e| fail("pipe", e))?;
            (Some(w), Some(r))
        }
        None => (None, None),
    };
    // O_NONBLOCK belongs to the parent's open file descriptions only; the
    // program's ends stay blocking.
    for fd in [Some(&stdout_r), Some(&stderr_r), stdin_parent.as_ref()]
        .into_iter()
        .flatten()
    {
        pipes::set_nonblocking(fd).map_err(|e| fail("pipe", e))?;
    }

    let plan = Plan {
        program: c_string(program.as_os_str()),
        argv: command.argv.iter().map(|a| c_string(a)).collect(),
        env,
        cwd: command.cwd.as_deref().map(|d| c_string(d.as_os_str())),
        limits: command.limits,
        stdin: stdin_child,
        stdout: stdout_w,
        stderr: stderr_w,
    };
    let started = if command.limits.is_empty() {
        posix::spawn(&plan)
    } else {
        limited::spawn(&plan)
    };
    let pid = started.map_err(|e| fail(e.step, io::Error::from_raw_os_error(e.errno)))?;
    drop(plan); // closes the child's ends, so end of file reaches us when the program is done

    let pidfd = open_pidfd(pid).map_err(|e| {
        abandon_unwatched(pid);
        fail("pidfd_open", e)
    })?;
    Ok(Spawned {
        pid,
        pidfd,
        stdin: stdin_parent,
        stdout: stdout_r,
        stderr: stderr_r,
    })
}

fn c_string(s: &OsStr) -> CString {
    // Command rejected NUL bytes up front, and the inherited environment cannot hold any.
    CString::new(s.as_bytes()).unwrap_or_default()
}

/// The inherited environment (unless cleared) with the command's changes applied in order.
fn environment(command: &Command) -> Environment {
    if !command.clear_env && command.env.is_empty() {
        return Environment::Inherited;
    }
    let mut env: Vec<(OsString, OsString)> = if command.clear_env {
        Vec::new()
    } else {
        std::env::vars_os().collect()
    };
    for (name, value) in &command.env {
        env.retain(|(k, _)| k != name);
        if let Some(value) = value {
            env.push((name.clone(), value.clone()));
        }
    }
    Environment::Built(
        env.iter()
            .map(|(k, v)| c_string(&[k.as_os_str(), v.as_os_str()].join(OsStr::new("="))))
            .collect(),
    )
}

/// Finds the program the way `execvp` would, but in the program's own `PATH`
/// (as Ruby's `spawn` does), so that a missing program is reported before spawning.
fn resolve(program: &OsStr, path_var: Option<&OsStr>, cwd: Option<&Path>) -> io::Result<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let path_var = path_var.unwrap_or_else(|| OsStr::new(DEFAULT_PATH));
    let mut denied = false;
    for dir in std::env::split_paths(path_var) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(program);
        let on_disk = match (cwd, candidate.is_relative()) {
            (Some(cwd), true) => cwd.join(&candidate),
            _ => candidate.clone(),
        };
        match std::fs::metadata(&on_disk) {
            Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => {
                return Ok(candidate)
            }
            Ok(meta) if meta.is_file() => denied = true,
            _ => {}
        }
    }
    Err(io::Error::from_raw_os_error(if denied {
        libc::EACCES
    } else {
        libc::ENOENT
    }))
}

fn check_dir(dir: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(dir)?;
    if meta.is_dir() {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(libc::ENOTDIR))
    }
}

fn open_pidfd(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; the new descriptor is close-on-exec.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: `fd` is a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Ends and reaps a program we cannot watch (no descriptor left for its pidfd):
/// better a spawn error than an unsupervised process.
fn abandon_unwatched(pid: i32) {
    // SAFETY: `pid` is our unreaped child, so its number (and group id) is still ours.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

pub(super) fn raw(fd: &OwnedFd) -> i32 {
    fd.as_raw_fd()
}
