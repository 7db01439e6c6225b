# frozen_string_literal: true

require "fileutils"
require "rbconfig"
require "rubygems/package"
require "tmpdir"

# Packs the extension already built for this Ruby into a platform gem
# (gazette_runner-VERSION-x86_64-linux.gem) that installs without a build
# step, so the host needs neither Rust nor libclang. Used by `rake native` and
# spec/native_gem_spec.rb.
module NativeGem
  ROOT = File.expand_path("..", __dir__)
  SO = "lib/gazette_runner/gazette_runner.so"
  # What the platform gem leaves out: the sources and manifests of the build it does not run.
  BUILD_INPUTS = %r{\A(src/|ext/|build\.rs\z|Cargo\.(toml|lock)\z)}

  module_function

  # @param output_dir [String] where the .gem is written
  # @return [String] the path of the .gem
  def build(output_dir)
    so = File.join(ROOT, SO)
    raise "#{SO} is missing: run `rake compile` first" unless File.exist?(so)

    spec = specification
    path = File.expand_path(spec.file_name, output_dir)
    FileUtils.mkdir_p(output_dir)
    # Packed from a copy, so that the .so can be stripped without touching lib/.
    Dir.mktmpdir("native-gem-") do |stage|
      stage(spec.files, stage)
      Dir.chdir(stage) { Gem::Package.build(spec, false, false, path) }
    end
    path
  end

  def stage(files, stage)
    files.each do |file|
      FileUtils.mkdir_p(File.join(stage, File.dirname(file)))
      FileUtils.cp(File.join(ROOT, file), File.join(stage, file))
    end
    strip(File.join(stage, SO))
  end

  # The source gem's specification, for this platform and this Ruby's ABI only.
  def specification
    spec = Gem::Specification.load(File.join(ROOT, "gazette_runner.gemspec")).dup
    spec.platform = Gem::Platform.local
    spec.extensions = []
    spec.files = (spec.files.grep_v(BUILD_INPUTS) + [SO]).sort
    spec.required_ruby_version = ruby_abi_requirement
    spec
  end

  # An extension is built against one Ruby minor version: 3.1.x for Ruby 3.1.
  # "< 3.2.dev" also refuses the 3.2 previews.
  def ruby_abi_requirement
    major, minor = RbConfig::CONFIG.fetch("ruby_version").split(".").map(&:to_i)
    [">= #{major}.#{minor}", "< #{major}.#{minor + 1}.dev"]
  end

  # Debug sections are most of the library's size and no use on a server.
  def strip(path)
    system("strip", "--strip-debug", path, exception: false) ||
      warn("native gem: `strip` failed or is missing; packing #{SO} unstripped")
  end
end
