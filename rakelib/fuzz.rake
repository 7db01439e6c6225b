# frozen_string_literal: true

# Coverage-guided fuzzing of the core with cargo-fuzz (libFuzzer). Not part of
# the default task: it needs the nightly toolchain and minutes per target.
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
  next if crashed.empty?

  abort "fuzz: #{crashed.join(", ")} failed; a crash leaves its input in fuzz/artifacts/<target>/ " \
        "(replay: cargo +nightly fuzz run <target> <file>)"
end

namespace :fuzz do
  desc "Install cargo-fuzz unless cargo already has it"
  task :install do
    next if system("cargo", "fuzz", "--version", out: File::NULL, err: File::NULL)

    sh "cargo", "install", "cargo-fuzz", "--locked"
  end
end
