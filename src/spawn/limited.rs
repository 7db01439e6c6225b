//! The path for resource limits, which `posix_spawn` cannot set: a
//! `CLONE_VM | CLONE_VFORK` child (like `posix_spawn` itself, so the parent is
//! never copied) that makes only async-signal-safe system calls before `execve`.

use std::ffi::c_void;
use std::sync::atomic::{AtomicI32, Ordering};

use super::{raw, BackendError, Plan};

/// The child runs on this stack until `execve`; it only makes a handful of
/// plain system calls, so a small one suffices.
const STACK_SIZE: usize = 64 * 1024;

const STEPS: [&str; 6] = ["setpgid", "stdin", "dup2", "chdir", "setrlimit", "exec"];

/// Shared with the child (same memory until it execs): the inputs, and where it
/// failed if it did.
struct Shared<'a> {
    plan: &'a Plan,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    rlimits: [(libc::__rlimit_resource_t, Option<u64>); 2],
    failed_step: AtomicI32,
    errno: AtomicI32,
}

pub(super) fn spawn(plan: &Plan) -> Result<i32, BackendError> {
    let argv = plan.argv_ptrs();
    let envp = plan.envp_ptrs();
    let shared = Shared {
        plan,
        argv: argv.as_ptr(),
        envp: plan.envp(&envp),
        rlimits: [
            (libc::RLIMIT_AS, plan.limits.memory_bytes),
            (libc::RLIMIT_CPU, plan.limits.cpu_seconds),
        ],
        failed_step: AtomicI32::new(-1),
        errno: AtomicI32::new(0),
    };
    let stack = Stack::new()?;
    let pid = {
        // Host signal handlers must never run on the child's borrowed memory:
        // everything is blocked until the child has reset every disposition.
        let _blocked = BlockedSignals::all();
        // SAFETY: the child only runs `child_main` on its own stack; CLONE_VFORK
        // suspends us until it has exec'ed or exited, so `shared` outlives its use.
        unsafe {
            libc::clone(
                child_main,
                stack.top(),
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&raw const shared).cast_mut().cast(),
            )
        }
    };
    if pid < 0 {
        return Err(BackendError {
            step: "clone",
            errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        });
    }
    let step = shared.failed_step.load(Ordering::Acquire);
    if step >= 0 {
        // SAFETY: the child has already _exit'ed; reap it so it leaves no zombie.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        let step = usize::try_from(step).map_or("exec", |i| STEPS[i]);
        return Err(BackendError {
            step,
            errno: shared.errno.load(Ordering::Acquire),
        });
    }
    Ok(pid)
}

/// Runs in the child. Only async-signal-safe calls; no allocation, no locks.
extern "C" fn child_main(arg: *mut c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `Shared`, alive while the parent is suspended.
    let shared = unsafe { &*arg.cast::<Shared<'_>>() };
    // SAFETY: plain system calls on values prepared by the parent.
    let failed = unsafe { prepare_and_exec(shared) };
    shared.failed_step.store(failed, Ordering::Release);
    shared.errno.store(
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        Ordering::Release,
    );
    // SAFETY: _exit never returns and runs no host exit handlers.
    unsafe { libc::_exit(127) }
}

/// Returns the index in [`STEPS`] of the call that failed (exec only returns on failure).
unsafe fn prepare_and_exec(shared: &Shared<'_>) -> i32 {
    let plan = shared.plan;
    if libc::setpgid(0, 0) != 0 {
        return 0;
    }
    let mut default_action: libc::sigaction = std::mem::zeroed();
    default_action.sa_sigaction = libc::SIG_DFL;
    for signal in 1..libc::SIGRTMAX() {
        // SIGKILL/SIGSTOP and glibc's internal signals refuse; that is fine.
        libc::sigaction(signal, &raw const default_action, std::ptr::null_mut());
    }
    if let Some(fd) = &plan.stdin {
        if libc::dup2(raw(fd), 0) < 0 {
            return 1;
        }
    } else {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null < 0 || (null != 0 && (libc::dup2(null, 0) < 0 || libc::close(null) != 0)) {
            return 1;
        }
    }
    if libc::dup2(raw(&plan.stdout), 1) < 0 || libc::dup2(raw(&plan.stderr), 2) < 0 {
        return 2;
    }
    // Descriptors the host opened without close-on-exec must not reach the program.
    libc::close_range(3, libc::c_uint::MAX, 0);
    if let Some(cwd) = &plan.cwd {
        if libc::chdir(cwd.as_ptr()) != 0 {
            return 3;
        }
    }
    for (resource, value) in shared.rlimits {
        if let Some(value) = value {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            if libc::setrlimit(resource, &raw const limit) != 0 {
                return 4;
            }
        }
    }
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&raw mut empty);
    libc::sigprocmask(libc::SIG_SETMASK, &raw const empty, std::ptr::null_mut());
    libc::execve(
        plan.program.as_ptr(),
        shared.argv.cast(),
        shared.envp.cast(),
    );
    5
}

/// The child's stack, unmapped when dropped (after the child has exec'ed).
struct Stack {
    base: *mut c_void,
}

impl Stack {
    fn new() -> Result<Self, BackendError> {
        // SAFETY: an anonymous private mapping; checked for MAP_FAILED below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                STACK_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(BackendError {
                step: "mmap",
                errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            });
        }
        Ok(Self { base })
    }

    fn top(&self) -> *mut c_void {
        // SAFETY: one past the end of the mapping; stacks grow down on every Linux target we build for.
        unsafe { self.base.cast::<u8>().add(STACK_SIZE).cast() }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`.
        unsafe { libc::munmap(self.base, STACK_SIZE) };
    }
}

/// Blocks every signal in this thread until dropped, then restores the old mask.
struct BlockedSignals {
    old: libc::sigset_t,
}

impl BlockedSignals {
    fn all() -> Self {
        // SAFETY: sigset_t is plain data; the calls fill and apply it.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&raw mut all);
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, &raw const all, &raw mut old);
            Self { old }
        }
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `all`.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &raw const self.old, std::ptr::null_mut())
        };
    }
}
