# frozen_string_literal: true

# Why row 1c measures the plain path: the same Ruby code is timed hot (back to
# back) and cold (right after a real spawn and wait of /bin/true, or after as
# long a busy loop, neither timed), with the native run stubbed out so only
# the Ruby layer runs, for a plain `run(argv)` (one native call) and for the
# full path every other call takes. Prints thread-CPU medians in µs.
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
    # A plain run is one native call; any option takes the full path.
    PATHS = { "plain" => -> { GazetteRunner.run(COMMAND) },
              "full" => -> { GazetteRunner.run(COMMAND, timeout: 60) } }.freeze

    # Answers Native.execute (the full path) and Native.run (a plain run) with
    # a kept result while `stubbed` is set, telling the observer of a spawn as
    # the real run does.
    module Stub
      class << self
        attr_accessor :stubbed, :outcome
      end

      def execute(call, bound, observer, hooks)
        return super unless Stub.stubbed

        observer&.spawned(Process.pid, nil)
        Stub.outcome
      end

      def run(argv, bound, kill_after, max_output)
        Stub.stubbed ? Stub.outcome : super
      end
    end

    module_function

    # Thread-CPU µs of the plain path (`run(argv)`, one native call) and of
    # the full path (`run(argv, timeout: 60)`), hot and cold.
    def measure
      call = GazetteRunner.const_get(:Call).new(COMMAND, {})
      real_run = -> { GazetteRunner::Native.execute(call, 60.0, nil, nil) }
      Stub.outcome = real_run.call
      GazetteRunner::Native.singleton_class.prepend(Stub)
      befores = { "hot" => -> {}, "after a real run" => real_run, "after a busy loop" => -> { busy(BUSY_SECONDS) } }
      PATHS.flat_map { |path, layer| medians(path, layer, befores) }.to_h
    end

    # [label, µs] of `layer` after each of `befores`.
    def medians(path, layer, befores)
      befores.map { |label, before| ["#{path}, #{label}", median_micros { layer_after(before, layer) }] }
    end

    # Thread-CPU seconds of one stubbed `layer`, after `before` ran untimed.
    def layer_after(before, layer)
      Stub.stubbed = false
      before.call
      Stub.stubbed = true
      clock = Process::CLOCK_THREAD_CPUTIME_ID
      start = Process.clock_gettime(clock)
      layer.call
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
    puts format("the Ruby layer, stubbed, %<label>-25s %<micros>6.1f µs of thread CPU (median of %<calls>d)",
                label:, micros:, calls: Bench::RubyLayerCold::CALLS)
  end
end
