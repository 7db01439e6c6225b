# frozen_string_literal: true

require_relative "../contenders"
require_relative "../support"

module Bench
  # Row 3: reading 256 MiB of stdout. Throughput, and the peak of resident
  # memory above what the process held before the call, against the size of the
  # output: a reader that grows its buffer by copying holds the output about
  # twice at its peak.
  module LargeOutput
    BYTES = 256 * MIB
    COMMAND = ["head", "-c", BYTES.to_s, "/dev/zero"].freeze
    SPEED_TARGET = 1.5
    RSS_TARGET = 1.2

    # Why a peer failed, when it failed the way posix-spawn does on Ruby >= 3.0.
    EAGAIN = ". The program got EAGAIN writing to its stdout: Ruby 3.0 made IO.pipe non-blocking, and this peer " \
             "hands such a pipe to the program unchanged (rtomayko/posix-spawn#90), so any output larger than the " \
             "pipe buffer fails."

    # `failure` is why a contender could not read the output (then the rest is nil).
    Sample = Struct.new(:seconds, :extra_rss, :failure, keyword_init: true) do
      def speed = seconds && (BYTES.to_f / MIB / seconds)
    end

    module_function

    # @return [Array(Hash{Symbol=>Array<Sample>}, Boolean)] the samples, and
    #   whether they had to be taken in child processes
    def measure(rounds:)
      in_child = !Bench.reset_peak_rss
      samples = CONTENDERS.to_h { |key| [key, []] }
      rounds.times do |round|
        CONTENDERS.rotate(round).each { |key| samples[key] << (in_child ? sample_in_child(key) : sample(key)) }
      end
      [samples, in_child]
    end

    def sample(key)
      Bench.settle
      Bench.reset_peak_rss
      before = Bench.rss
      stdout = nil
      seconds = Bench.timed { stdout = read(key) }
      raise "#{key} read #{stdout.bytesize} bytes, not #{BYTES}" unless stdout.bytesize == BYTES

      Sample.new(seconds:, extra_rss: Bench.peak_rss - before)
    rescue Failed => e
      Sample.new(failure: e.message)
    end

    def read(key)
      return Run.gazette_runner(COMMAND, max_output: 300 << 20) if key == :gazette_runner

      Run.public_send(key, COMMAND)
    end

    # Where VmHWM cannot be reset, a fresh process per sample starts with a
    # peak that is only its own start-up.
    def sample_in_child(key) = Sample.new(**Bench.in_child_ruby(__FILE__, key, "sample"))

    # Medians over the samples that succeeded; nil for a contender that never did.
    def medians(samples, &)
      samples.transform_values { |runs| Bench.median(runs.reject(&:failure).map(&)) }
    end

    def failures(samples)
      samples.filter_map { |key, runs| [key, " (fails, see 3.)"] if runs.any?(&:failure) }.to_h
    end

    def headlines(samples)
      [speed_headline(medians(samples, &:speed), failures(samples)),
       rss_headline(medians(samples, &:extra_rss), failures(samples))]
    end

    def speed_headline(speed, notes)
      vs_backticks = speed[:gazette_runner] / speed[:backticks]
      Headline.new(label: "3a. read 256 MiB of stdout (MiB/s)", numbers: speed, better: :higher, notes:,
                   format: ->(value) { Markdown.number(value) }, target: "≥ #{SPEED_TARGET}× backticks",
                   met: Markdown.verdict(vs_backticks >= SPEED_TARGET, "#{Markdown.ratio(vs_backticks)} backticks"))
    end

    def rss_headline(extra, notes)
      vs_output = extra[:gazette_runner].to_f / BYTES
      Headline.new(label: "3b. peak RSS above baseline while reading 256 MiB (MiB)", numbers: extra,
                   better: :lower, notes:, format: ->(bytes) { Markdown.mib(bytes, 0) },
                   target: "≤ #{RSS_TARGET}× output",
                   met: Markdown.verdict(vs_output <= RSS_TARGET, "#{Markdown.ratio(vs_output)} output"))
    end

    def details(samples, in_child)
      rows = samples.map { |key, runs| detail_row(key, runs) }
      headers = ["contender", "runs", "failed", "MiB/s", "peak extra RSS MiB", "÷ output"]
      "## 3. Reading 256 MiB of stdout\n\n#{note(in_child)}\n\n#{Markdown.table(headers,
                                                                                rows)}#{failure_notes(samples)}"
    end

    def detail_row(key, runs)
      ok = runs.reject(&:failure)
      speed = Bench.median(ok.map(&:speed))
      extra = Bench.median(ok.map(&:extra_rss))
      [LABELS[key], ok.size, runs.size - ok.size, Markdown.number(speed), Markdown.mib(extra),
       Markdown.ratio(extra && (extra.to_f / BYTES))]
    end

    def failure_notes(samples)
      samples.filter_map do |key, runs|
        failure = runs.find(&:failure)&.failure or next
        "\n\n#{LABELS[key]} failed: #{failure}#{EAGAIN if failure.include?("temporarily unavailable")}"
      end.join
    end

    def note(in_child)
      where = if in_child
                "each run in a fresh Ruby process (/proc/self/clear_refs is not writable here)"
              else
                "in this process, VmHWM reset through /proc/self/clear_refs before each run"
              end
      "`#{COMMAND.join(" ")}`; gazette_runner with `max_output: 300 << 20`. Rounds rotate the order; #{where}. " \
        "Extra RSS is VmHWM after the call minus VmRSS before it (after GC.start and malloc_trim)."
    end
  end
end

puts JSON.generate(Bench::LargeOutput.sample(ARGV.fetch(0).to_sym).to_h) if $PROGRAM_NAME == __FILE__
