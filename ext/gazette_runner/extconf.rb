# frozen_string_literal: true

# RubyGems runs this, then `make clean`, `make`, `make install` in this dir. It
# points sitearchdir at a staging dir via a `-r siteconf.rb` before we run, so
# read it here rather than expecting it on the make command line.
require "rbconfig"
require "shellwords"

q = ->(s) { Shellwords.escape(s) }
manifest = File.expand_path("Cargo.toml", __dir__)
# The cargo target tree (~200 MB) lives in the build dir and is removed by
# `make install`, so the installed gem keeps only the .so. A CARGO_TARGET_DIR
# in the environment is used instead and kept: a deploy host (or a spec) that
# installs the gem again reuses what cargo built the first time.
shared_target = ENV.fetch("CARGO_TARGET_DIR", "")
target = shared_target.empty? ? File.join(Dir.pwd, "target") : File.expand_path(shared_target)
clean = shared_target.empty? ? "rm -rf $(TARGET)" : "@echo \"keeping $(TARGET): CARGO_TARGET_DIR is set\""

File.write("Makefile", <<~MAKE)
  sitearchdir = #{q[RbConfig::CONFIG.fetch("sitearchdir")]}
  CARGO ?= cargo
  TARGET = #{q[target]}
  DEST = $(DESTDIR)$(sitearchdir)/gazette_runner

  all:
  \tCARGO_TARGET_DIR=$(TARGET) RUBY=#{q[RbConfig.ruby]} $(CARGO) build --release --locked --manifest-path #{q[manifest]}

  install: all
  \tmkdir -p $(DEST)
  \tcp $(TARGET)/release/libgazette_runner.so $(DEST)/gazette_runner.so
  \t#{clean}

  clean:
  \t#{clean}

  .PHONY: all install clean
MAKE
