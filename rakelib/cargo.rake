# frozen_string_literal: true

namespace :cargo do
  # Only the core crate: the binding crate resolves libruby symbols at load
  # time, so its test binary cannot link on its own.
  desc "Run the Rust unit tests of gazette_runner_core"
  task :test do
    sh "cargo", "test", "-p", "gazette_runner_core"
  end
end
