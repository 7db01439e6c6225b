# frozen_string_literal: true

# Why row 1c costs more than the Ruby layer's own work: the same Ruby code is
# timed hot (back to back) and cold (right after a real spawn and wait of
# /bin/true, or after as long a busy loop, neither timed), with the native run
# stubbed out so only the Ruby layer runs. Prints thread-CPU medians in µs.
#
#   ruby -Ilib bench/ruby_layer_cold.rb

require "gazette_runner"

module Bench
  # Hot against cold runs of the Ruby layer alone.
  module RubyLayerCold
    COMMAND = ["/bin/true"].freeze
    CALLS = 1000
    # About as long as a run of /bin/true takes here.
    BUSY_SECONDS = 0.0007

    # Answers Native.execute with a kept outcome while `stubbed` is set,
    # telling the observer of a spawn as the real run does.
    module Stub
      class << self
        attr_accessor :stubbed, :outcome
      end

      def execute(call, bound, observer, hooks)
        return super unless Stub.stubbed

        observer&.spawned(Process.pid, nil)
        Stub.outcome
      end
    end

    module_function

    def measure
      call = GazetteRunner.const_get(:Call).new(COMMAND, {})
      real_run = -> { GazetteRunner::Native.execute(call, 60.0, nil, nil) }
      Stub.outcome = real_run.call
      GazetteRunner::Native.singleton_class.prepend(Stub)
      { "hot" => -> {}, "after a real run" => real_run, "after a busy loop" => -> { busy(BUSY_SECONDS) } }
        .transform_values { |before| median_micros { layer_after(before) } }
    end

    # Thread-CPU seconds of one stubbed GazetteRunner.run, after `before` ran untimed.
    def layer_after(before)
      Stub.stubbed = false
      before.call
      Stub.stubbed = true
      clock = Process::CLOCK_THREAD_CPUTIME_ID
      start = Process.clock_gettime(clock)
      GazetteRunner.run(COMMAND)
      Process.clock_gettime(clock) - start
    ensure
      Stub.stubbed = false
    end

    def busy(seconds)
      until_at = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
      nil while Process.clock_gettime(Process::CLOCK_MONOTONIC) < until_at
    end

    def median_micros(&)
      samples = Array.new(CALLS, &).sort
      samples[CALLS / 2] * 1e6
    end
  end
end

if $PROGRAM_NAME == __FILE__
  Bench::RubyLayerCold.measure.each do |label, micros|
    puts format("the Ruby layer, stubbed, %<label>-18s %<micros>6.1f µs of thread CPU (median of %<calls>d)",
                label:, micros:, calls: Bench::RubyLayerCold::CALLS)
  end
end
