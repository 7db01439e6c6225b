# frozen_string_literal: true

# Line callbacks against a plain run: `rake bench:callbacks`. A program prints
# 640,000 lines of 100 bytes; gazette_runner reads them with no callback, with a no-op
# `on_stdout:`, and with no-op `on_stdout:` and `on_stderr:` (the lines on
# stdout). Target: a no-op `on_stdout:` within 2x of the plain run. Prints a
# Markdown section; `rake bench` appends it to bench/RESULTS.md as section 9
# (`ruby bench/callbacks.rb FILE` appends to FILE).

require_relative "support"
require_relative "markdown"
require "gazette_runner"

module Bench
  # Throughput of line callbacks.
  module Callbacks
    LINES = 640_000
    LINE_BYTES = 100
    BYTES = LINES * LINE_BYTES
    # `yes` repeats the 99 x's and a newline; head cuts at a line boundary.
    COMMAND = ["sh", "-c", "yes #{"x" * 99} | head -c #{BYTES}"].freeze
    ROUNDS = 7
    TARGET = 2.0
    NOOP = ->(_line) {}
    CONTENDERS = {
      plain: ["no callback", {}],
      on_stdout: ["no-op `on_stdout:`", { on_stdout: NOOP }],
      both: ["no-op `on_stdout:` and `on_stderr:`", { on_stdout: NOOP, on_stderr: NOOP }]
    }.freeze

    module_function

    def run(append_to = nil)
      section = section(measure)
      puts section
      File.write(append_to, "\n#{section}", mode: "a") if append_to
    end

    def section(samples)
      table = Markdown.table(["gazette_runner reading #{LINES} lines of #{LINE_BYTES} bytes", "runs", "median ms",
                              "MiB/s", "÷ no callback"], rows(samples))
      "## 9. Line callbacks: a no-op `on_stdout:` against no callback\n\n#{note(samples)}\n\n#{table}\n"
    end

    def note(samples)
      ratio = Bench.median(samples[:on_stdout]) / Bench.median(samples[:plain])
      "`yes <99 x> | head -c #{BYTES}`, read by `GazetteRunner.run` #{ROUNDS} times per contender, rounds " \
        "rotating the order; the callbacks get every line (counted once before the timed runs). Target: a no-op " \
        "`on_stdout:` within #{TARGET}× of no callback: " \
        "#{Markdown.verdict(ratio <= TARGET, "#{Markdown.ratio(ratio)} no callback")}."
    end

    def rows(samples)
      plain = Bench.median(samples[:plain])
      CONTENDERS.map do |key, (label, _)|
        median = Bench.median(samples[key])
        [label, samples[key].size, Markdown.millis(median, 0), Markdown.number(BYTES.to_f / MIB / median),
         Markdown.ratio(median / plain)]
      end
    end

    def measure
      counted = count_lines
      raise "on_stdout saw #{counted} lines, not #{LINES}" unless counted == LINES

      samples = CONTENDERS.keys.to_h { |key| [key, []] }
      ROUNDS.times do |round|
        CONTENDERS.keys.rotate(round).each { |key| samples[key] << sample(CONTENDERS[key].last) }
      end
      samples
    end

    # Once, outside the timed runs: the callback really sees every line.
    def count_lines
      lines = 0
      GazetteRunner.run(COMMAND, timeout: 60, max_output: BYTES * 2, on_stdout: ->(_line) { lines += 1 })
      lines
    end

    def sample(options)
      Bench.settle
      result = nil
      seconds = Bench.timed { result = GazetteRunner.run(COMMAND, timeout: 60, max_output: BYTES * 2, **options) }
      return seconds if result.success? && result.stdout.bytesize == BYTES

      raise "read #{result.stdout.bytesize} bytes, not #{BYTES}"
    end
  end
end

Bench::Callbacks.run(ARGV.first) if $PROGRAM_NAME == __FILE__
