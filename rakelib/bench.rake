# frozen_string_literal: true

require "rbconfig"

FLOOR_MANIFEST = "bench/floor/Cargo.toml"
# Its own target dir, whatever CARGO_TARGET_DIR says: bench/floor.rb loads the
# library from there.
FLOOR_TARGET_DIR = "bench/floor/target"

desc "Benchmark gazette_runner against its six peers and a Rust floor, plus the failure matrix; writes bench/RESULTS.md"
task bench: %i[compile bench:floor] do
  sh RbConfig.ruby, "-Ilib", "bench/run.rb"
  sh RbConfig.ruby, "-Ilib", "bench/callbacks.rb", "bench/RESULTS.md"
end

namespace :bench do
  desc "Row 7 alone: parsing JSON output against JSON.parse (prints it; bench/RESULTS.md is left as it is)"
  task json: :compile do
    sh RbConfig.ruby, "-Ilib", "bench/run.rb", "json"
  end

  desc "Row 6c alone: the bound while another thread holds the GVL, against the peers (prints it)"
  task busy_gvl: :compile do
    sh RbConfig.ruby, "-Ilib", "bench/run.rb", "busy_gvl"
  end

  desc "Section 10 alone: run_all against threads of run and of Open3.capture3 (prints it)"
  task run_all: :compile do
    sh RbConfig.ruby, "-Ilib", "bench/run.rb", "run_all"
  end

  desc "Section 9 alone: a no-op on_stdout against no callback on 100-byte lines (prints it)"
  task callbacks: :compile do
    sh RbConfig.ruby, "-Ilib", "bench/callbacks.rb"
  end

  desc "Replay synthetic traces through GazetteRunner::Estimator (learned bounds); writes bench/ESTIMATOR.md"
  task :estimator do
    sh RbConfig.ruby, "-Ilib", "bench/estimator.rb", "bench/ESTIMATOR.md"
  end

  desc "Build the benchmark floor (bench/floor, a crate outside the workspace)"
  task :floor do
    sh "cargo", "build", "--release", "--manifest-path", FLOOR_MANIFEST, "--target-dir", FLOOR_TARGET_DIR
  end

  desc "fmt --check and clippy (warnings as errors) on the benchmark floor"
  task :lint do
    sh "cargo", "fmt", "--check", "--manifest-path", FLOOR_MANIFEST
    sh "cargo", "clippy", "--manifest-path", FLOOR_MANIFEST, "--target-dir", FLOOR_TARGET_DIR, "--", "-D", "warnings"
  end
end
