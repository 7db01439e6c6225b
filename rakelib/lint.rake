# frozen_string_literal: true

require "rbconfig"

desc "Check Rust formatting, clippy, rubocop and the crates' licences"
task lint: %i[lint:rust lint:ruby licenses]

namespace :lint do
  desc "cargo fmt --check and clippy with warnings as errors"
  task :rust do
    sh "cargo", "fmt", "--all", "--check"
    # Clippy builds the binding crate too, whose rb-sys build script needs RUBY.
    sh({ "RUBY" => RbConfig.ruby }, "cargo", "clippy", "--workspace", "--all-targets", "--", "-D", "warnings")
  end

  desc "rubocop"
  task :ruby do
    sh RbConfig.ruby, "-S", "rubocop"
  end
end
