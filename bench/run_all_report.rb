# frozen_string_literal: true

require_relative "markdown"
require_relative "workloads/run_all"

module Bench
  # Section 10's summary table and details, from what {RunAll.measure} returned.
  module RunAllReport
    module_function

    def medians(samples, field) = samples.transform_values { |list| Bench.median(list.map(&field)) }

    def verdict(name, samples) # rubocop:disable Metrics/AbcSize -- the two workloads' targets
      wall = medians(samples, :wall)
      return Markdown.verdict(wall[:run_all] <= 0.9, "#{Markdown.number(wall[:run_all], 3)} s") if name == :sleepers

      cpu = medians(samples, :cpu)
      met = wall[:run_all] < wall[:threads_run] && cpu[:run_all] < cpu[:threads_run]
      Markdown.verdict(met, "#{Markdown.number(wall[:threads_run] / wall[:run_all], 2)}× the runs/s, " \
                            "#{Markdown.number(cpu[:run_all] / cpu[:threads_run], 2)}× the CPU")
    end

    def summary(results)
      rows = results.map do |name, samples|
        workload = RunAll::WORKLOADS[name]
        wall = medians(samples, :wall)
        [workload[:label], *RunAll::WAYS.keys.map { |way| Markdown.number(wall[way], 3) }, workload[:target],
         verdict(name, samples)]
      end
      Markdown.table(["run_all workload (median wall s)", *RunAll::WAYS.values, "target", "met"], rows)
    end

    HEADERS = ["way", "median wall s", "runs/s", "host CPU µs per run", "most Ruby threads", "RSS before MiB",
               "RSS after MiB"].freeze
    INTRO = "#{RunAll::ROUNDS} rounds, the ways in rotating order; each way takes the same commands from one queue " \
            "with the same concurrency. Host CPU is this process's (every thread, the native ones included), not " \
            "the children's; Ruby threads are the most alive at once (the caller's included; gazette_runner's " \
            "one native supervisor thread not).".freeze

    def row(way, list, count) # rubocop:disable Metrics/AbcSize -- one cell per column
      wall = Bench.median(list.map(&:wall))
      [RunAll::WAYS[way], Markdown.number(wall, 3), Markdown.number(count / wall, 0),
       Markdown.number(Bench.median(list.map(&:cpu)) * 1e6 / count, 0), list.map(&:threads).max,
       Markdown.mib(list.map(&:rss_before).max), Markdown.mib(list.map(&:rss_after).max)]
    end

    def details(results)
      sections = results.map do |name, samples|
        workload = RunAll::WORKLOADS[name]
        rows = samples.map { |way, list| row(way, list, workload[:count]) }
        "### #{workload[:label]}\n\n#{Markdown.table(HEADERS, rows)}"
      end
      "## 10. Many programs at once: run_all against threads\n\n#{INTRO}\n\n#{sections.join("\n\n")}"
    end
  end
end
