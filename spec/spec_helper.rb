# frozen_string_literal: true

require "tmpdir"

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "gazette_runner"
require_relative "support/processes"
require_relative "support/outcomes"
require_relative "support/gc_stressed_native"

RSpec.configure do |config|
  config.include ProcessHelpers
  config.include OutcomeHelpers
  config.disable_monkey_patching!
  config.order = :random

  # Examples tagged :scratch_dir get @dir, a directory of their own, removed afterwards.
  config.around(:each, :scratch_dir) do |example|
    Dir.mktmpdir("gazette-spec") do |dir|
      @dir = dir
      example.run
    end
  end
  Kernel.srand config.seed

  # `rake spec:gc` reruns the :gc_stress examples with GC.stress on during
  # every call into the native extension, and GC.compact running in another
  # thread, to catch a Ruby object touched without the GVL or kept where the GC
  # cannot see it. Stressing only the native calls (not RSpec itself) keeps the
  # run to a couple of minutes.
  if ENV["GAZETTE_GC_STRESS"] == "1"
    GazetteRunner::Native.singleton_class.prepend(GcStressedNative.wrapping(:execute, :run, :running, :parse_json))
    # run_all's native batch keeps Ruby values (output Strings, hooks) that its mark function must show the GC.
    GazetteRunner::Native::Batch.prepend(GcStressedNative.wrapping(:start, :start_plain, :wait, :cancel, :abort))
    config.around(:each, :gc_stress) do |example|
      compactor = Thread.new do
        loop do
          GC.compact
          sleep 0.05
        end
      end
      example.run
    ensure
      compactor&.kill&.join(5)
    end
  end
end
