//! The floor of the per-call benchmark: the cheapest way Rust's standard
//! library runs a program the way `gazette_runner` does (stdout and stderr piped,
//! stdin from `/dev/null`, its own process group). Loaded into the benchmarking
//! Ruby process with Fiddle, so it pays the same heap size and the same
//! machine noise as the Ruby contenders it is interleaved with.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Instant;

/// Runs `/bin/true` `iterations` times and writes each run's wall time, in
/// seconds, to `out[i]`. A run that fails to start or does not exit 0 is
/// written as NaN and counted in the return value, so the caller can refuse to
/// report a floor that did not do the work.
///
/// # Safety
/// `out` must point to `iterations` writable, properly aligned `f64`s.
#[no_mangle]
pub unsafe extern "C" fn floor_true_seconds(iterations: u32, out: *mut f64) -> u32 {
    if out.is_null() {
        return iterations;
    }
    // SAFETY: the caller guarantees `out` holds `iterations` f64s.
    let out = unsafe { std::slice::from_raw_parts_mut(out, iterations as usize) };
    let mut failures = 0;
    for slot in out {
        let start = Instant::now();
        let ran = Command::new("/bin/true")
            .process_group(0)
            .output()
            .is_ok_and(|output| output.status.success());
        let seconds = start.elapsed().as_secs_f64();
        if ran {
            *slot = seconds;
        } else {
            *slot = f64::NAN;
            failures += 1;
        }
    }
    failures
}
