# frozen_string_literal: true

require_relative "lib/gazette_runner/version"

Gem::Specification.new do |spec| # rubocop:disable Metrics/BlockLength -- one flat list of fields
  spec.name = "gazette_runner"
  spec.version = GazetteRunner::VERSION
  spec.authors = ["gazette_runner contributors"]
  spec.summary = "Run a program with a hard time bound, process-group clean-up and bounded output capture."
  spec.description = <<~TEXT.tr("\n", " ").strip
    Runs external programs (Python scripts, converters) from Sidekiq and Rails jobs: no shell, a hard
    time bound enforced from native code, the whole process group ended and reaped, output capped per
    stream, typed errors, JSON output parsed and checked against a schema, retries, deadlines, circuit
    breakers, progress callbacks, events, and a fleet dashboard. Linux only. The source gem compiles a
    Rust extension (Rust >= 1.85 and libclang); the x86_64-linux platform gem needs neither.
  TEXT
  # The project's public repository. There is no canonical URL yet: set it
  # before a release (docs/install.md's git: example uses the same one).
  spec.homepage = "https://github.com/gazette-runner/gazette_runner"
  spec.license = "MIT"
  spec.required_ruby_version = ">= 3.1"
  spec.metadata["rubygems_mfa_required"] = "true"
  spec.metadata["homepage_uri"] = spec.homepage
  spec.metadata["source_code_uri"] = spec.homepage
  spec.metadata["changelog_uri"] = "#{spec.homepage}/blob/main/CHANGELOG.md"

  # Globs, not `git ls-files`: the gem may be built from an unpacked tarball.
  # build.rs files are listed because cargo fails if a declared one is absent.
  patterns = %w[
    lib/**/*.rb sig/**/*.rbs docs/**/*.md src/**/*.rs build.rs
    ext/gazette_runner/Cargo.toml ext/gazette_runner/extconf.rb
    ext/gazette_runner/build.rs ext/gazette_runner/src/**/*.rs
    Cargo.toml Cargo.lock README.md CHANGELOG.md LICENSE
  ]
  spec.files = Dir.glob(patterns, base: __dir__).reject { |f| f.end_with?(".so") }.sort
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/gazette_runner/extconf.rb"]
end
