# frozen_string_literal: true

require_relative "../contenders"
require_relative "../support"

module Bench
  # Rows 1 and 2: the wall time of one run of /bin/true. Contenders take turns
  # in rounds whose order rotates, so drift and bursts of noise on a shared
  # machine land on all of them rather than on whoever ran during the burst.
  module PerCall
    COMMAND = ["/bin/true"].freeze
    # Many short rounds rather than a few long ones: finer interleaving.
    ROUNDS = 20
    CALLS = 50
    # Forking a 2 GB Ruby takes ~70 ms, so the forking peers get fewer calls there.
    FORKING_CALLS = 3
    # Mixlib::ShellOut's read loop selects in 10 ms steps: ~20 ms a call.
    SLOW_CALLS = { mixlib: 10 }.freeze
    WARMUP = 10
    FLOOR_RATIO_TARGET = 1.15
    # Not a contender: the floor again, but one Fiddle call per run. Fiddle
    # releases the GVL for each call, as any binding that lets other threads
    # run must, so this shows what that release costs per run.
    FLOOR_PER_CALL = :floor_per_call
    EXTRA_LABELS = { FLOOR_PER_CALL => "floor, one Fiddle call per run" }.freeze

    module_function

    # @param calls [Hash{Symbol=>Integer}] calls per round, per contender
    # @return [Hash{Symbol=>Array<Float>}] seconds of each call
    def measure(calls, rounds: ROUNDS)
      calls.each { |key, count| batch(key, [WARMUP, count].min) }
      samples = calls.transform_values { [] }
      rounds.times do |round|
        calls.keys.rotate(round).each { |key| samples[key].concat(batch(key, calls[key])) }
      end
      samples
    end

    def batch(key, count)
      return Floor.true_seconds(count) if key == :floor
      return Array.new(count) { Bench.timed { Floor.true_seconds(1) } } if key == FLOOR_PER_CALL

      Array.new(count) { Bench.timed { Run.public_send(key, COMMAND) } }
    end

    # Filled, not just reserved: fork copies the page tables of resident
    # memory, which is what makes a big host slow to fork.
    # @return [Array<String>] keep it referenced for as long as the heap should stay big
    def grow_heap(bytes, piece: 64 * 1024)
      Array.new(bytes / piece) { "x" * piece }
    end

    def headline(label, samples)
      headline = Headline.new(label:, numbers: samples.transform_values { |s| Bench.median(s) },
                              format: ->(seconds) { Markdown.micros(seconds) }, better: :lower,
                              target: "≤ #{FLOOR_RATIO_TARGET}× floor, ≤ posix-spawn")
      headline.met = verdict(headline)
      headline
    end

    def verdict(headline)
      vs_posix = headline.gazette / headline.numbers[:posix_spawn]
      Markdown.verdict(headline.vs_floor <= FLOOR_RATIO_TARGET && vs_posix <= 1,
                       "#{Markdown.ratio(headline.vs_floor)} floor, #{Markdown.ratio(vs_posix)} posix-spawn")
    end

    def details(title, samples, note)
      headline = headline(title, samples)
      rows = samples.map { |key, seconds| detail_row(key, seconds, headline) }
      table = Markdown.table(["contender", "calls", "median µs", "p10 µs", "p90 µs", "÷ floor", "÷ best peer"], rows)
      "## #{title}\n\n#{note}\n\n#{table}"
    end

    def detail_row(key, seconds, headline)
      median = Bench.median(seconds)
      spread = [median, Bench.percentile(seconds, 10), Bench.percentile(seconds, 90)]
      [LABELS.merge(EXTRA_LABELS).fetch(key), seconds.size, *spread.map { |s| Markdown.micros(s) },
       Markdown.ratio(median / headline.numbers[:floor]), Markdown.ratio(median / headline.best_peer)]
    end
  end
end
