# frozen_string_literal: true

# gazette_runner against its peers, in one run: `rake bench` (which builds the
# extension and the Rust floor first). Prints Markdown to stdout, progress to
# stderr, and writes the same Markdown to bench/RESULTS.md.
#
# `ruby -Ilib bench/run.rb json` (`rake bench:json`) runs row 7 alone and only
# prints it: RESULTS.md keeps the full run.

require_relative "support"
require_relative "contenders"
require_relative "markdown"
require_relative "report"
require_relative "run_all_report"
Dir[File.join(__dir__, "workloads", "*.rb")].each { |file| require file }

module Bench
  # Runs the workloads in the order that keeps them from disturbing each other
  # (the 2 GB heap cannot be given back reliably, so it comes last) and reports
  # them in the order of the brief.
  module Main
    HEAP_BYTES = 2 << 30
    ALL = [*LABELS.keys, PerCall::FLOOR_PER_CALL].freeze
    # Rounds of the workloads that take about a second a round.
    ROUNDS = 5

    module_function

    def run
      results = measure_all
      extra = [JsonReport.summary(results[:json]), RunAllReport.summary(results[:run_all])]
      markdown = Report.document(headlines(results), sections(results), extra_summaries: extra)
      File.write(File.join(__dir__, "RESULTS.md"), markdown)
      puts markdown
    end

    def measure_all
      { small: small_heap, ruby_layer: RubyLayer.measure, output: large_output, growth: rss_growth, threads:,
        timeouts:, busy_gvl: BusyGvl.measure, run_all: RunAll.measure, matrix: failure_matrix, json: json_output,
        big: big_heap }
    end

    def run_json_only
      results = json_output
      puts Report.json_document(JsonReport.summary(results), JsonReport.details(results))
    end

    def small_heap
      Bench.progress("1. /bin/true per call, small heap: #{PerCall::ROUNDS} rounds × #{PerCall::CALLS} calls")
      PerCall.measure(ALL.to_h { |key| [key, PerCall::SLOW_CALLS.fetch(key, PerCall::CALLS)] })
    end

    def large_output
      Bench.progress("3. 256 MiB of stdout: #{ROUNDS} rounds")
      LargeOutput.measure(rounds: ROUNDS)
    end

    def rss_growth
      Bench.progress("4. RSS growth: #{RssGrowth::WARMUP} + #{RssGrowth::RUNS} runs, in child processes")
      RssGrowth.measure
    end

    def threads
      Bench.progress("5. #{Threads::THREADS} threads × sleep 0.5: #{ROUNDS} rounds")
      Threads.measure(rounds: ROUNDS)
    end

    def timeouts
      Bench.progress("6. timeout precision")
      Timeouts.measure
    end

    # Row 6c alone (`rake bench:busy_gvl`): printed, RESULTS.md left as it is.
    def run_busy_gvl_only
      results = BusyGvl.measure
      puts Report.summary([BusyGvl.headline(results)]), "", BusyGvl.details(results)
    end

    def run_run_all_only
      results = RunAll.measure
      puts RunAllReport.summary(results), "", RunAllReport.details(results)
    end

    def failure_matrix
      Bench.progress("8. failure matrix: #{FailureMatrix::SCENARIOS.size} scenarios × #{CONTENDERS.size} contenders")
      FailureMatrix.measure
    end

    # Its garbage (the Ruby objects of a 50 MB document, several times over)
    # grows the heap, so it runs after every workload that forks on a small heap.
    def json_output
      Bench.settle
      Bench.progress("7. JSON output against JSON.parse: #{ROUNDS} rounds")
      JsonParsing.measure(rounds: ROUNDS)
    end

    # Ruby spawns by fork when run as root, and fork's cost grows with the
    # heap; hence fewer calls for the forking contenders.
    def big_heap
      Bench.settle
      Bench.progress("2. growing the heap by #{HEAP_BYTES >> 30} GiB")
      ballast = PerCall.grow_heap(HEAP_BYTES)
      rss = Bench.rss
      Bench.progress("2. /bin/true per call, VmRSS #{Markdown.mib(rss, 0)} MiB: #{PerCall::ROUNDS} rounds")
      calls = ALL.to_h { |key| [key, Bench::FORKING.include?(key) ? PerCall::FORKING_CALLS : PerCall::CALLS] }
      samples = PerCall.measure(calls)
      { samples:, rss:, pieces: ballast.size }
    end

    def headlines(results) # rubocop:disable Metrics/AbcSize -- one headline per row of the summary
      [PerCall.headline("1. /bin/true per call, small heap (µs)", results[:small]),
       PerCall.headline("2. /bin/true per call, #{HEAP_BYTES >> 30} GB heap (µs)", results[:big][:samples]),
       RubyLayer.headline(results[:ruby_layer]), *LargeOutput.headlines(results[:output].first),
       RssGrowth.headline(results[:growth]), Threads.headline(results[:threads]),
       *Timeouts.headlines(results[:timeouts]), BusyGvl.headline(results[:busy_gvl])]
    end

    def sections(results) # rubocop:disable Metrics/AbcSize -- one section per workload
      [*per_call_sections(results), RubyLayer.details(results[:ruby_layer]), LargeOutput.details(*results[:output]),
       RssGrowth.details(results[:growth]), Threads.details(results[:threads]), Timeouts.details(results[:timeouts]),
       BusyGvl.details(results[:busy_gvl]), JsonReport.details(results[:json]), RunAllReport.details(results[:run_all]),
       MatrixReport.details(results[:matrix])]
    end

    def per_call_sections(results)
      big = results[:big]
      [PerCall.details("1. /bin/true per call, small heap", results[:small],
                       "Rounds rotate the order; each call timed alone. Every peer captures stdout " \
                       "and stderr but backticks (stdout only); the floor pipes both, in its own process group, and " \
                       "runs a batch per Fiddle call (timed in Rust), so it never gives up the GVL between runs. " \
                       "\"One Fiddle call per run\" is the same floor timed from Ruby, releasing the GVL each run. " \
                       "Mixlib::ShellOut takes ~20 ms a call (its read loop sleeps in 10 ms selects), so it runs " \
                       "#{PerCall::SLOW_CALLS[:mixlib]} calls a round, not #{PerCall::CALLS}."),
       PerCall.details("2. /bin/true per call, #{HEAP_BYTES >> 30} GB heap", big[:samples],
                       "After filling #{big[:pieces]} Strings of 64 KiB (VmRSS #{Markdown.mib(big[:rss], 0)} MiB). " \
                       "Open3, backticks, Mixlib::ShellOut, TTY::Command and ChildProcess fork (Ruby does not " \
                       "vfork as root), so they run " \
                       "#{PerCall::FORKING_CALLS} calls a round, not #{PerCall::CALLS}.")]
    end
  end
end

case ARGV.first
when "json" then Bench::Main.run_json_only
when "busy_gvl" then Bench::Main.run_busy_gvl_only
when "run_all" then Bench::Main.run_run_all_only
else Bench::Main.run
end
