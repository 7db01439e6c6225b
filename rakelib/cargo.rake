# frozen_string_literal: true

namespace :cargo do
  # Only the core crate: the binding crate resolves libruby symbols at load
  # time, so its test binary cannot link on its own.
  desc "Run the Rust unit tests of gazette_runner_core"
  task :test do
    sh "cargo", "test", "-p", "gazette_runner_core"
  end

  # LeakSanitizer needs the nightly toolchain and an explicit --target; its
  # own target dir keeps the instrumented build apart from the normal one.
  # A leak makes the test binary exit 23, so cargo test fails. About 2 min the
  # first time (it builds every dependency instrumented), seconds after that.
  desc "Run the core's tests (unit and integration) under LeakSanitizer (nightly); fails on a leak"
  task :leak do
    host = `rustc +nightly -vV`[/^host: (\S+)$/, 1] or abort "cargo:leak: no nightly toolchain (rustup toolchain list)"
    sh({ "RUSTFLAGS" => "-Zsanitizer=leak", "CARGO_TARGET_DIR" => "target/leak" },
       "cargo", "+nightly", "test", "-p", "gazette_runner_core", "--tests", "--target", host)
  end
end
