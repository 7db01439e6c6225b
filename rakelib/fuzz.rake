# frozen_string_literal: true

require "rbconfig"

# Coverage-guided fuzzing of the core with cargo-fuzz (libFuzzer). Not part of
# the default task: it needs the nightly toolchain and minutes per target.
# `rake fuzz` ends with `fuzz:ruby`, the Ruby side's property specs run long.
FUZZ_TARGETS = %w[output_validation command_description json_differential].freeze
FUZZ_SECONDS = 60

desc "Fuzz each core target for SECONDS (default #{FUZZ_SECONDS}) with cargo-fuzz; fails on a crash"
task :fuzz, [:seconds] => "fuzz:install" do |_task, args|
  seconds = Integer(args[:seconds] || FUZZ_SECONDS)
  # libFuzzer reads -max_total_time=0 as "no limit".
  abort "fuzz: seconds must be positive, got #{seconds}" unless seconds.positive?

  crashed = FUZZ_TARGETS.reject do |target|
    # New inputs go to the first directory: fuzz/grown (ignored) keeps the
    # committed seeds small while coverage still accumulates across runs.
    grown = "fuzz/grown/#{target}"
    mkdir_p grown, verbose: false
    flags = ["-max_total_time=#{seconds}", "-rss_limit_mb=2048", "-timeout=10"]
    dict = "fuzz/dict/#{target}.dict"
    flags << "-dict=#{dict}" if File.exist?(dict)
    # Keep going after a crash so one run reports on every target.
    sh("cargo", "+nightly", "fuzz", "run", target, grown, "fuzz/corpus/#{target}", "--", *flags) { |ok, _| ok }
  end
  Rake::Task["fuzz:ruby"].invoke
  next if crashed.empty?

  abort "fuzz: #{crashed.join(", ")} failed; a crash leaves its input in fuzz/artifacts/<target>/ " \
        "(replay: cargo +nightly fuzz run <target> <file>)"
end

namespace :fuzz do
  # The Ruby side's properties (the slice contract over generated trees and
  # answers, redaction over generated secrets) are specs that run a few
  # hundred cases in every `rspec`; here they run RUNS cases each.
  desc "Run the Ruby property specs (slice contract, redaction) for RUNS cases each (default 20000)"
  task :ruby, [:runs] => :compile do |_task, args|
    runs = Integer(args[:runs] || 20_000)
    abort "fuzz:ruby: runs must be positive, got #{runs}" unless runs.positive?

    sh({ "GAZETTE_PROPERTY_RUNS" => runs.to_s }, RbConfig.ruby, "-S", "rspec",
       "spec/hostile/slice_contract_property_spec.rb", "spec/hostile/redaction_property_spec.rb")
  end

  desc "Install cargo-fuzz unless cargo already has it"
  task :install do
    next if system("cargo", "fuzz", "--version", out: File::NULL, err: File::NULL)

    sh "cargo", "install", "cargo-fuzz", "--locked"
  end
end
