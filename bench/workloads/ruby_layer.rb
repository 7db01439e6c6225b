# frozen_string_literal: true

require_relative "../support"

module Bench
  # Row 1c: what the Ruby layer adds to a run of /bin/true — `GazetteRunner.run`
  # against `Native.execute` alone (the same call, spawned and reaped the same
  # way), interleaved call by call; and the Ruby objects each allocates.
  module RubyLayer
    ROUNDS = 20
    CALLS = 50
    TARGET_MICROS = 25
    TARGET_OBJECTS = 15
    COMMAND = ["/bin/true"].freeze

    Sample = Struct.new(:run, :native, :run_objects, :native_objects, keyword_init: true)

    module_function

    # @return [Sample] seconds of each call, and objects allocated per call
    def measure
      Bench.progress("1c. the Ruby layer: #{ROUNDS * CALLS} × run and Native.execute, alternating")
      call = GazetteRunner.const_get(:Call).new(COMMAND, {})
      native = -> { GazetteRunner::Native.execute(call, 60.0, nil, nil) }
      run = -> { GazetteRunner.run(COMMAND) }
      runs, natives = alternate(run, native)
      Sample.new(run: runs, native: natives, run_objects: objects(run), native_objects: objects(native))
    end

    # @return [Array(Array<Float>, Array<Float>)] seconds of each call of `first` and of `second`
    def alternate(first, second)
      10.times { first.call && second.call }
      Array.new(ROUNDS * CALLS) { [Bench.timed(&first), Bench.timed(&second)] }.transpose
    end

    # Objects allocated per call, averaged over 100 calls with the GC off.
    def objects(action)
      GC.disable
      before = GC.stat(:total_allocated_objects)
      100.times { action.call }
      (GC.stat(:total_allocated_objects) - before) / 100.0
    ensure
      GC.enable
    end

    def row(label, seconds, objects)
      [label, seconds.size, Markdown.micros(Bench.median(seconds)), Markdown.number(objects, 1)]
    end

    def micros(sample) = (Bench.median(sample.run) - Bench.median(sample.native)) * 1e6
    def objects_added(sample) = sample.run_objects - sample.native_objects

    def headline(sample)
      added = micros(sample)
      objects = objects_added(sample)
      Headline.new(label: "1c. The Ruby layer per run: run − Native.execute (µs)",
                   numbers: { gazette_runner: added / 1e6 },
                   format: ->(seconds) { Markdown.micros(seconds) }, better: :lower,
                   target: "≤ #{TARGET_MICROS} µs, ≤ #{TARGET_OBJECTS} objects",
                   met: Markdown.verdict(added <= TARGET_MICROS && objects <= TARGET_OBJECTS,
                                         "#{Markdown.number(added, 1)} µs, #{Markdown.number(objects, 1)} objects"))
    end

    def details(sample)
      rows = [row("GazetteRunner.run", sample.run, sample.run_objects),
              row("Native.execute alone", sample.native, sample.native_objects),
              ["the Ruby layer", "-", Markdown.number(micros(sample), 1), Markdown.number(objects_added(sample), 1)]]
      "## 1c. The Ruby layer\n\n`GazetteRunner.run([\"/bin/true\"])` and `Native.execute` of the same call, " \
        "alternating call by call; objects allocated per call averaged over 100 calls with the GC off.\n\n" \
        "#{Markdown.table(["call", "calls", "median µs", "objects per call"], rows)}"
    end
  end
end
