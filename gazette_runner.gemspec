# frozen_string_literal: true

require_relative "lib/gazette_runner/version"

Gem::Specification.new do |spec|
  spec.name = "gazette_runner"
  spec.version = GazetteRunner::VERSION
  spec.authors = ["gazette_runner contributors"]
  spec.summary = "Run a program with a hard time bound, process-group clean-up and bounded output capture."
  spec.license = "MIT"
  spec.required_ruby_version = ">= 3.1"
  spec.metadata["rubygems_mfa_required"] = "true"

  # Globs, not `git ls-files`: the gem may be built from an unpacked tarball.
  # build.rs files are listed because cargo fails if a declared one is absent.
  patterns = %w[
    lib/**/*.rb sig/**/*.rbs src/**/*.rs build.rs
    ext/gazette_runner/Cargo.toml ext/gazette_runner/extconf.rb
    ext/gazette_runner/build.rs ext/gazette_runner/src/**/*.rs
    Cargo.toml Cargo.lock README.md CHANGELOG.md LICENSE
  ]
  spec.files = Dir.glob(patterns, base: __dir__).reject { |f| f.end_with?(".so") }.sort
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/gazette_runner/extconf.rb"]
end
