# frozen_string_literal: true

require_relative "../contenders"
require_relative "../support"

module Bench
  # Row 4: whether resident memory creeps up over many runs, as it would with a
  # leak per call (a descriptor, a buffer, a registry slot never freed).
  module RssGrowth
    COMMAND = ["/bin/true"].freeze
    WARMUP = 500
    RUNS = 10_000
    CONTENDERS = %i[gazette_runner posix_spawn].freeze
    TARGET = MIB

    Sample = Struct.new(:after_warmup, :after_runs, keyword_init: true) do
      def growth = after_runs - after_warmup
    end

    module_function

    # Each contender gets a process of its own, so neither's allocations show in
    # the other's RSS. The two run side by side: only memory is measured here.
    # @return [Hash{Symbol=>Sample}]
    def measure
      CONTENDERS.to_h { |key| [key, Thread.new { in_child(key) }] }.transform_values(&:value)
    end

    def in_child(key) = Sample.new(**Bench.in_child_ruby(__FILE__, key, "RSS growth run"))

    def sample(key)
      run(key, WARMUP)
      after_warmup = settled_rss
      run(key, RUNS)
      Sample.new(after_warmup:, after_runs: settled_rss)
    end

    def run(key, count)
      count.times { Run.public_send(key, COMMAND) }
    end

    def settled_rss
      GC.start
      Bench.rss
    end

    def headline(samples)
      growth = samples.transform_values(&:growth)
      Headline.new(label: "4. RSS growth over #{RUNS} runs of /bin/true (MiB)", numbers: growth, better: :lower,
                   format: ->(bytes) { Markdown.mib(bytes, 2) }, target: "≤ 1 MiB",
                   met: Markdown.verdict(growth[:gazette_runner] <= TARGET,
                                         "#{Markdown.mib(growth[:gazette_runner], 2)} MiB"))
    end

    def details(samples)
      rows = samples.map do |key, sample|
        [LABELS[key], Markdown.mib(sample.after_warmup), Markdown.mib(sample.after_runs),
         Markdown.mib(sample.growth, 2)]
      end
      headers = ["contender", "VmRSS after #{WARMUP} runs MiB", "after #{RUNS} more MiB", "growth MiB"]
      "## 4. RSS growth over #{RUNS} runs\n\n#{note}\n\n#{Markdown.table(headers, rows)}"
    end

    def note
      "`/bin/true` #{WARMUP} times to warm up, then #{RUNS} times more; VmRSS read after GC.start each time. " \
        "Each contender in a fresh Ruby process of its own (RSS is per process), the two at once."
    end
  end
end

puts JSON.generate(Bench::RssGrowth.sample(ARGV.fetch(0).to_sym).to_h) if $PROGRAM_NAME == __FILE__
