//! Process groups running right now, so a host that exits can end them all.
//!
//! Lock-free on purpose: a host may `fork` while another thread is registering,
//! and a lock held at that moment would stay held forever in the child.

use std::sync::atomic::{AtomicU64, Ordering};

const SLOTS: usize = 4096;

/// Each slot holds `owner pid << 32 | pgid`, or 0 when free. The owner lets a
/// forked host tell its own children from those of the process it forked from.
static SLOTS_IN_USE: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];

/// A registered group; dropping it unregisters.
#[derive(Debug)]
pub(crate) struct Registration {
    slot: Option<usize>,
}

fn entry(pgid: i32) -> u64 {
    // SAFETY: getpid has no preconditions.
    let owner = unsafe { libc::getpid() };
    (u64::from(owner.unsigned_abs()) << 32) | u64::from(pgid.unsigned_abs())
}

/// Records a running group. Past [`SLOTS`] concurrent groups the extra ones go
/// unrecorded: they are still bounded and cleaned by their own execution.
pub(crate) fn register(pgid: i32) -> Registration {
    let value = entry(pgid);
    let slot = SLOTS_IN_USE.iter().position(|slot| {
        slot.compare_exchange(0, value, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    });
    Registration { slot }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            SLOTS_IN_USE[slot].store(0, Ordering::Release);
        }
    }
}

/// Sends `SIGKILL` to every group this process started that is still running;
/// for an exiting host (Ruby's `at_exit`). Returns how many groups were signalled.
// Not `#[must_use]`: the killing is the point; the count is only informative.
#[allow(clippy::must_use_candidate)]
pub fn kill_all_running() -> usize {
    // SAFETY: getpid has no preconditions.
    let me = u64::from(unsafe { libc::getpid() }.unsigned_abs());
    let mut killed = 0;
    for slot in &SLOTS_IN_USE {
        let value = slot.load(Ordering::Acquire);
        if value != 0 && value >> 32 == me {
            let pgid = i32::try_from(value & 0xffff_ffff).unwrap_or(0);
            if pgid > 0 {
                // SAFETY: signals the group we started; it is still registered, so unreaped.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                killed += 1;
            }
        }
    }
    killed
}
