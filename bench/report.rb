# frozen_string_literal: true

require "etc"
require "shellwords"
require "time"

module Bench
  # One line of the summary table: a workload's headline number per contender,
  # compared to the floor and to the best of the peers.
  # `notes` are suffixes for some contenders' cells; `ineligible` peers did not
  # do the job (e.g. left the program running) and are not "best peer".
  Headline = Struct.new(:label, :numbers, :format, :better, :target, :met, :notes, :ineligible,
                        keyword_init: true) do
    def gazette = numbers[:gazette_runner]

    def vs_floor
      numbers[:floor] && gazette && gazette.fdiv(numbers[:floor])
    end

    def best_peer
      peers = numbers.slice(*(PEERS - Array(ineligible))).values.compact
      better == :higher ? peers.max : peers.min
    end

    def vs_best_peer
      best_peer && gazette && gazette.fdiv(best_peer)
    end
  end

  # The whole Markdown document: machine line, summary, then one section per workload.
  module Report
    HEADERS = ["workload (median)", *LABELS.values, "gazette_runner ÷ floor", "gazette_runner ÷ best peer",
               "target", "met"].freeze

    module_function

    # `extra_summaries` follow the summary table: workloads whose peers are not
    # the process runners of its columns.
    def document(headlines, sections, extra_summaries: [])
      [
        "# gazette_runner benchmarks", machine,
        "## Summary",
        "Medians. Ratios divide gazette_runner's median by the floor's and by the best peer's " \
        "(#{PEERS.map { |key| LABELS[key] }.join(", ")}); for MiB/s higher is better, elsewhere lower. " \
        "A peer that failed, or left the program running, is not counted as best. In 6b the bound is " \
        "timeout + kill_after (0.4 s) for gazette_runner and ChildProcess, the timeout (0.2 s) for the others.",
        summary(headlines), *extra_summaries, *sections
      ].join("\n\n") << "\n"
    end

    # Row 7 alone (`rake bench:json`).
    def json_document(summary, section)
      ["# gazette_runner benchmarks: row 7 only", machine, "## Summary", summary, section].join("\n\n") << "\n"
    end

    def summary(headlines)
      Markdown.table(HEADERS, headlines.map { |headline| summary_row(headline) })
    end

    def summary_row(headline)
      values = LABELS.keys.map { |key| "#{headline.format.call(headline.numbers[key])}#{headline.notes&.dig(key)}" }
      [headline.label, *values, Markdown.ratio(headline.vs_floor), Markdown.ratio(headline.vs_best_peer),
       headline.target, headline.met]
    end

    def machine
      cpu = File.read("/proc/cpuinfo")[/^model name\s*:\s*(.+)$/, 1]
      "Machine: #{Etc.nprocessors} CPUs (nproc), #{cpu}, Linux #{Etc.uname[:release]}, #{RUBY_DESCRIPTION}; " \
        "load average at start #{File.read("/proc/loadavg").split.first}; " \
        "gazette_runner #{GazetteRunner::VERSION} at #{revision}; #{Time.now.utc.iso8601}"
    end

    def revision
      head = `git -C #{__dir__.shellescape} rev-parse --short HEAD 2>/dev/null`.strip
      return "unknown revision" if head.empty?

      dirty = `git -C #{__dir__.shellescape} status --porcelain --untracked-files=no 2>/dev/null`.strip
      dirty.empty? ? head : "#{head} (with uncommitted changes)"
    end
  end
end
