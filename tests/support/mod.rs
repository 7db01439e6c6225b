//! Helpers shared by the integration tests: commands and facts read from `/proc`.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use gazette_runner_core::{Command, Outcome};

pub fn sh(script: &str, timeout: Duration) -> Command {
    Command::new(["sh", "-c", script], timeout).expect("valid command")
}

pub fn run(command: &Command) -> Outcome {
    gazette_runner_core::run(command).expect("spawned")
}

/// Living (non-zombie) processes whose process group is `pgid`.
pub fn live_members(pgid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
            fields[2] == pgid.to_string() && !matches!(fields[0], "Z" | "X")
        })
        .collect()
}

pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !matches!(&stat[stat.rfind(')').unwrap() + 2..][..1], "Z" | "X"))
}

pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}
