//! Descriptor hygiene, in a test binary of its own: a descriptor count is only
//! meaningful when no other test is opening pipes in the same process.

use std::time::Duration;

use gazette_runner_core::{run, Command};

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn runs_leave_no_descriptor_open_and_pass_on_only_stdio() {
    let long = Duration::from_secs(20);
    run(&Command::new(["true"], long).unwrap()).unwrap();
    let before = open_descriptors();

    let listing = run(&Command::new(["ls", "/proc/self/fd"], long).unwrap()).unwrap();
    // 0, 1, 2 and the descriptor ls opens to read the directory.
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout)
            .split_whitespace()
            .count(),
        4
    );

    let mut timed_out = Command::new(["sleep", "10"], Duration::from_millis(100)).unwrap();
    timed_out.stdin(vec![b'x'; 1 << 20]);
    run(&timed_out).unwrap();
    let _ = Command::new(["gazette-no-such-program"], long)
        .unwrap()
        .spawn();
    assert_eq!(open_descriptors(), before);
}
