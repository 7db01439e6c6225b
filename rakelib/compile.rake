# frozen_string_literal: true

require "fileutils"
require "rbconfig"

# rb-sys's build script asks this Ruby for its configuration.
CARGO_ENV = { "RUBY" => RbConfig.ruby }.freeze
EXT_MANIFEST = "ext/gazette_runner/Cargo.toml"
EXT_SO = "lib/gazette_runner/gazette_runner.so"

desc "Build the Rust extension (release) into #{EXT_SO}"
task :compile do
  sh CARGO_ENV, "cargo", "build", "--release", "--manifest-path", EXT_MANIFEST
  built = File.join(ENV.fetch("CARGO_TARGET_DIR", "target"), "release", "libgazette_runner.so")
  # Leave an unchanged .so alone so its mtime (and anything keyed on it) is stable.
  next if File.exist?(EXT_SO) && FileUtils.compare_file(built, EXT_SO)

  FileUtils.mkdir_p(File.dirname(EXT_SO))
  # Copy to a temp name and rename, so a Ruby that has the old .so mapped is not corrupted.
  FileUtils.cp(built, "#{EXT_SO}.tmp")
  File.rename("#{EXT_SO}.tmp", EXT_SO)
  puts "copied #{built} -> #{EXT_SO}"
end
