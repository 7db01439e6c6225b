//! The common path: glibc's `posix_spawn`, which uses `CLONE_VM | CLONE_VFORK`
//! and so never copies the parent, however large its heap.

use std::mem::MaybeUninit;

use super::{raw, BackendError, Plan};

/// Owns an initialised `posix_spawnattr_t` and destroys it on drop.
struct Attributes(libc::posix_spawnattr_t);

impl Drop for Attributes {
    fn drop(&mut self) {
        // SAFETY: initialised in `attributes`.
        unsafe { libc::posix_spawnattr_destroy(&raw mut self.0) };
    }
}

/// Owns an initialised `posix_spawn_file_actions_t` and destroys it on drop.
struct FileActions(libc::posix_spawn_file_actions_t);

impl Drop for FileActions {
    fn drop(&mut self) {
        // SAFETY: initialised in `file_actions`.
        unsafe { libc::posix_spawn_file_actions_destroy(&raw mut self.0) };
    }
}

const DEV_NULL: &std::ffi::CStr = c"/dev/null";

fn check(step: &'static str, rc: libc::c_int) -> Result<(), BackendError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(BackendError { step, errno: rc })
    }
}

/// Own process group, every signal back to its default action, an empty signal
/// mask: the program starts clean whatever the host (Ruby ignores `SIGPIPE`).
fn attributes() -> Result<Attributes, BackendError> {
    let mut attr = MaybeUninit::<libc::posix_spawnattr_t>::uninit();
    // SAFETY: init writes the whole struct; each call below gets the initialised one.
    unsafe {
        check(
            "posix_spawnattr_init",
            libc::posix_spawnattr_init(attr.as_mut_ptr()),
        )?;
        let mut attr = Attributes(attr.assume_init());
        let mut all = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigfillset(all.as_mut_ptr());
        include_glibc_internal_signals(all.as_mut_ptr());
        let mut none = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(none.as_mut_ptr());
        let flags = libc::POSIX_SPAWN_SETPGROUP
            | libc::POSIX_SPAWN_SETSIGDEF
            | libc::POSIX_SPAWN_SETSIGMASK;
        #[allow(clippy::cast_possible_truncation)]
        check(
            "posix_spawnattr",
            libc::posix_spawnattr_setflags(&raw mut attr.0, flags as libc::c_short),
        )?;
        check(
            "posix_spawnattr",
            libc::posix_spawnattr_setpgroup(&raw mut attr.0, 0),
        )?;
        check(
            "posix_spawnattr",
            libc::posix_spawnattr_setsigdefault(&raw mut attr.0, all.as_ptr()),
        )?;
        check(
            "posix_spawnattr",
            libc::posix_spawnattr_setsigmask(&raw mut attr.0, none.as_ptr()),
        )?;
        Ok(attr)
    }
}

/// Pipes onto 0, 1 and 2 (or `/dev/null` on 0), every other descriptor closed
/// (even those the host opened without close-on-exec), then the working directory.
fn file_actions(plan: &Plan) -> Result<FileActions, BackendError> {
    let mut actions = MaybeUninit::<libc::posix_spawn_file_actions_t>::uninit();
    // SAFETY: init writes the whole struct; the C strings outlive the spawn call.
    unsafe {
        check(
            "posix_spawn_file_actions_init",
            libc::posix_spawn_file_actions_init(actions.as_mut_ptr()),
        )?;
        let mut actions = FileActions(actions.assume_init());
        let fa = &raw mut actions.0;
        match &plan.stdin {
            Some(fd) => check(
                "stdin",
                libc::posix_spawn_file_actions_adddup2(fa, raw(fd), 0),
            )?,
            None => check(
                "stdin",
                libc::posix_spawn_file_actions_addopen(fa, 0, DEV_NULL.as_ptr(), libc::O_RDONLY, 0),
            )?,
        }
        check(
            "stdout",
            libc::posix_spawn_file_actions_adddup2(fa, raw(&plan.stdout), 1),
        )?;
        check(
            "stderr",
            libc::posix_spawn_file_actions_adddup2(fa, raw(&plan.stderr), 2),
        )?;
        check(
            "closefrom",
            libc::posix_spawn_file_actions_addclosefrom_np(fa, 3),
        )?;
        if let Some(cwd) = &plan.cwd {
            check(
                "chdir",
                libc::posix_spawn_file_actions_addchdir_np(fa, cwd.as_ptr()),
            )?;
        }
        Ok(actions)
    }
}

/// glibc's `sigfillset` leaves out its internal signals (32 and 33), and its
/// `posix_spawn` then sets them to `SIG_IGN` in the child, where the ignored
/// state survives `execve`. Setting their bits directly (the kernel's sigset
/// layout: one bit per signal, from bit 0 for signal 1) resets them to default too.
unsafe fn include_glibc_internal_signals(set: *mut libc::sigset_t) {
    let words = set.cast::<libc::c_ulong>();
    let bits = libc::c_ulong::BITS as usize;
    for signal in 32..=33_usize {
        // SAFETY: sigset_t holds 1024 bits, far past signal 33.
        unsafe { *words.add((signal - 1) / bits) |= 1 << ((signal - 1) % bits) };
    }
}

pub(super) fn spawn(plan: &Plan) -> Result<i32, BackendError> {
    let attr = attributes()?;
    let actions = file_actions(plan)?;
    let argv = plan.argv_ptrs();
    let envp = plan.envp_ptrs();
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid and NUL-terminated for the duration of the call.
    let rc = unsafe {
        libc::posix_spawn(
            &raw mut pid,
            plan.program.as_ptr(),
            &raw const actions.0,
            &raw const attr.0,
            argv.as_ptr().cast(),
            plan.envp(&envp).cast(),
        )
    };
    check("exec", rc)?;
    Ok(pid)
}
