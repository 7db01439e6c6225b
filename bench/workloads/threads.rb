# frozen_string_literal: true

require_relative "../contenders"
require_relative "../support"

module Bench
  # Row 5: 25 threads each running `sleep 0.5` at once. A contender that holds
  # the GVL while it waits, or serialises its waits, takes a multiple of 0.5 s.
  module Threads
    COMMAND = %w[sleep 0.5].freeze
    THREADS = 25
    TARGET = 0.6

    module_function

    # @return [Hash{Symbol=>Array<Float>}] wall seconds of each batch
    def measure(rounds:)
      samples = CONTENDERS.to_h { |key| [key, []] }
      rounds.times do |round|
        CONTENDERS.rotate(round).each { |key| samples[key] << batch(key) }
      end
      samples
    end

    def batch(key)
      Bench.timed do
        Array.new(THREADS) { Thread.new { Run.public_send(key, COMMAND) } }.each(&:join)
      end
    end

    def headline(samples)
      wall = samples.transform_values { |s| Bench.median(s) }
      Headline.new(label: "5. #{THREADS} threads × `sleep 0.5`, wall (s)", numbers: wall, better: :lower,
                   format: ->(seconds) { Markdown.number(seconds, 3) }, target: "≤ #{TARGET} s",
                   met: Markdown.verdict(wall[:gazette_runner] <= TARGET,
                                         "#{Markdown.number(wall[:gazette_runner], 3)} s"))
    end

    def details(samples)
      rows = samples.map do |key, seconds|
        wall = [Bench.median(seconds), seconds.min, seconds.max]
        [LABELS[key], seconds.size, *wall.map { |s| Markdown.number(s, 3) }]
      end
      table = Markdown.table(["contender", "batches", "median s", "min s", "max s"], rows)
      "## 5. #{THREADS} threads each running `sleep 0.5`\n\n" \
        "Wall time from starting the first thread to joining the last; rounds rotate the order.\n\n#{table}"
    end
  end
end
