//! Running a closure without the GVL, with an unblock function that only wakes it.
//!
//! `rb_thread_call_without_gvl2` (unlike the plain variant) never raises on the
//! way out, so no Ruby exception unwinds through Rust frames; the caller checks
//! interrupts itself once it holds the GVL again.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use gazette_runner_core::Waker;

struct Call<F, T> {
    func: Option<F>,
    result: Option<std::thread::Result<T>>,
}

unsafe extern "C" fn trampoline<F: FnOnce() -> T, T>(data: *mut c_void) -> *mut c_void {
    // SAFETY: `data` is the `Call` on `without_gvl`'s stack, alive for this call.
    let call = unsafe { &mut *data.cast::<Call<F, T>>() };
    if let Some(func) = call.func.take() {
        // A panic must not cross the C frames of the VM.
        call.result = Some(catch_unwind(AssertUnwindSafe(func)));
    }
    std::ptr::null_mut()
}

/// Ruby calls this for any pending interrupt, even a signal the host merely
/// traps; it only wakes the wait, and the caller decides what the interrupt means.
unsafe extern "C" fn unblock(data: *mut c_void) {
    // SAFETY: `data` is the `Waker` borrowed by `without_gvl`, alive during the call.
    let waker = unsafe { &*data.cast::<Waker>() };
    waker.wake();
}

/// Runs `func` with the GVL released. `None` means Ruby had an interrupt pending
/// and did not run `func` at all; `Some(Err(_))` carries a panic.
pub(crate) fn without_gvl<F: FnOnce() -> T, T>(
    waker: &Waker,
    func: F,
) -> Option<std::thread::Result<T>> {
    let mut call = Call {
        func: Some(func),
        result: None,
    };
    // SAFETY: both pointers outlive the call; the functions match the expected ABI.
    unsafe {
        rb_sys::rb_thread_call_without_gvl2(
            Some(trampoline::<F, T>),
            (&raw mut call).cast(),
            Some(unblock),
            std::ptr::from_ref(waker).cast_mut().cast(),
        );
    }
    call.result
}
