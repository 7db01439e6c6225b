# frozen_string_literal: true

# Soak test: `rake soak[SECONDS]` (default 60), or `rake soak:record` for the
# 10-minute run whose table is bench/SOAK.md. 25 threads run a mix of
# successes, failures, timeouts and large outputs until 100,000 runs or
# SECONDS pass, whichever comes first. Every 10 s it samples resident memory,
# open descriptors and threads; at the end it compares them with the state
# after a warm-up and exits 1 if they drifted beyond a small margin (or if a
# run ended in a way it should not have). Prints Markdown; `--write PATH` also
# writes it to PATH.

require "etc"
require "json"
require "time"
require "gazette_runner"
require_relative "support"
require_relative "markdown"

module Bench
  # What the soak runs: each kind of run, and how it must end.
  module SoakMix
    STDIN_TEXT = "x" * 100_000
    # name => [call, what it must end with: a Result predicate or an error class]
    KINDS = {
      success: [-> { GazetteRunner.run(%w[echo ok], timeout: 10) }, :success?],
      exit_three: [-> { GazetteRunner.run(["sh", "-c", "exit 3"], timeout: 10) }, ->(r) { r.exit_code == 3 }],
      run_bang: [-> { GazetteRunner.run!(["false"], timeout: 10) }, GazetteRunner::ExitError],
      missing: [-> { GazetteRunner.run(["/gazette/no-such-program"], timeout: 10) }, GazetteRunner::SpawnError],
      timeout: [-> { GazetteRunner.run(%w[sleep 10], timeout: 0.05, kill_after: 0.05) }, GazetteRunner::TimeoutError],
      ignores_term: [lambda {
        GazetteRunner.run(["sh", "-c", "trap '' TERM; sleep 10"], timeout: 0.05, kill_after: 0.05)
      }, GazetteRunner::TimeoutError],
      grandchild: [-> { GazetteRunner.run(["sh", "-c", "sleep 10 & echo x"], timeout: 10, kill_after: 0.1) },
                   :success?],
      large: [-> { GazetteRunner.run(["head", "-c", (4 << 20).to_s, "/dev/zero"], timeout: 10) },
              ->(r) { r.stdout.bytesize == 4 << 20 }],
      output_limit: [-> { GazetteRunner.run(["yes"], timeout: 10, max_output: 64 << 10) },
                     GazetteRunner::OutputLimitError],
      stdin: [-> { GazetteRunner.run(["wc", "-c"], timeout: 10, stdin: STDIN_TEXT) },
              ->(r) { r.stdout.strip == STDIN_TEXT.bytesize.to_s }],
      json: [-> { GazetteRunner.run_json(["echo", '{"page_count": 1, "files": ["a"]}'], timeout: 10) },
             ->(doc) { doc == { "page_count" => 1, "files" => ["a"] } }],
      invalid_json: [-> { GazetteRunner.run_json(%w[echo nope], timeout: 10) }, GazetteRunner::InvalidJsonError]
    }.freeze

    module_function

    # @return [String, nil] what went wrong, or nil
    def check(kind)
      call, expected = KINDS.fetch(kind)
      value = begin
        call.call
      rescue StandardError => e
        e
      end
      ok?(value, expected) ? nil : "#{kind}: got #{value.inspect[0, 200]}"
    end

    def ok?(value, expected)
      case expected
      when Symbol then !value.is_a?(Exception) && value.public_send(expected)
      when Proc then !value.is_a?(Exception) && expected.call(value)
      else value.is_a?(expected)
      end
    end
  end

  # The soak loop, its samples and its verdict.
  module Soak
    THREADS = 25
    MAX_RUNS = 100_000
    SAMPLE_EVERY = 10
    WARMUP_SECONDS = 5
    # Allowed drift from the warmed-up state. RSS moves with the heap's
    # fragmentation and malloc's arenas, so it gets a few MiB; descriptors,
    # threads and child processes must come back exactly.
    RSS_MARGIN = 16 * MIB
    # Ruby 3.1 keeps the native thread of a finished Ruby thread for reuse for
    # 3 s (THREAD_CACHE_TIME); the baseline and the end state are read after
    # that, so the OS thread count is the live ones only.
    THREAD_CACHE_SECONDS = 3.5

    Sample = Struct.new(:seconds, :runs, :rss, :fds, :ruby_threads, :os_threads, :children, keyword_init: true)
    # What the report needs: the run's parameters and everything measured.
    Outcome = Struct.new(:machine, :seconds, :took, :runs, :failures, :baseline, :samples, keyword_init: true) do
      def final = samples.last
      def problems = SoakReport.drift(baseline, final) + failures.values

      def update(**fields) = fields.each { |field, value| self[field] = value }
    end

    module_function

    def main(seconds, write_to)
      outcome = Outcome.new(machine: SoakReport.machine, seconds:)
      warm_up
      outcome.baseline = quiet_sample(0, 0)
      soak(outcome)
      markdown = SoakReport.report(outcome)
      puts markdown
      File.write(write_to, markdown) if write_to
      exit(outcome.problems.empty? ? 0 : 1)
    end

    def warm_up
      Bench.progress("soak: warming up for #{WARMUP_SECONDS} s")
      run_threads(Bench.now + WARMUP_SECONDS)
    end

    # Fills in runs, failures (one message per kind that misbehaved), samples and took.
    def soak(outcome)
      started = Bench.now
      Bench.progress("soak: #{THREADS} threads, until #{MAX_RUNS} runs or #{outcome.seconds} s")
      samples = []
      sampler = Thread.new { sample_every(samples, started) }
      runs, failures = run_threads(started + outcome.seconds)
      sampler.kill.join
      took = Bench.now - started
      outcome.update(runs:, failures:, took:, samples: samples << quiet_sample(took, runs))
    end

    def sample_every(samples, started)
      loop do
        sleep SAMPLE_EVERY
        samples << sample(Bench.now - started, @runs)
        Bench.progress("soak: #{samples.last.to_h.slice(:seconds, :runs, :rss, :fds, :ruby_threads).to_json}")
      end
    end

    # @return [Array(Integer, Hash{Symbol=>String})] runs, and what went wrong per kind
    def run_threads(deadline)
      @runs = 0
      failures = {}
      lock = Mutex.new
      Array.new(THREADS) { Thread.new { run_until(deadline, lock, failures) } }.each(&:join)
      [@runs, failures]
    end

    def run_until(deadline, lock, failures)
      kinds = SoakMix::KINDS.keys
      loop do
        index = lock.synchronize { @runs < MAX_RUNS && Bench.now < deadline ? (@runs += 1) : nil } or break
        kind = kinds[index % kinds.size]
        problem = SoakMix.check(kind)
        lock.synchronize { failures[kind] ||= problem } if problem
      end
    end

    def quiet_sample(seconds, runs)
      sleep THREAD_CACHE_SECONDS
      sample(seconds, runs)
    end

    def sample(seconds, runs)
      Bench.settle
      Sample.new(seconds: seconds.round, runs:, rss: Bench.rss, fds: Bench.open_fds.size,
                 ruby_threads: Thread.list.size, os_threads: Bench.status_value("Threads"),
                 children: Bench.processes.count { |_, _, ppid, _| ppid == Process.pid })
    end
  end

  # The soak's table and verdict, as Markdown.
  module SoakReport
    module_function

    # @return [Array<String>] what differs from the warmed-up state beyond the margin
    def drift(baseline, final)
      problems = %i[fds ruby_threads os_threads children].filter_map do |field|
        "#{field}: #{baseline[field]} -> #{final[field]}" if final[field] != baseline[field]
      end
      growth = final.rss - baseline.rss
      margin = Soak::RSS_MARGIN
      problems << "RSS grew #{Markdown.mib(growth)} MiB (margin #{Markdown.mib(margin, 0)})" if growth > margin
      problems
    end

    def report(outcome)
      problems = outcome.problems
      verdict = if problems.empty? then "**pass**: the end state equals the warmed-up state"
                else
                  "**FAIL**: #{problems.join("; ")}"
                end
      ["# gazette_runner soak", outcome.machine, note(outcome), table(outcome.baseline, outcome.samples),
       verdict].join("\n\n") << "\n"
    end

    def note(outcome)
      kinds = SoakMix::KINDS.keys
      "`rake soak[#{outcome.seconds}]`: #{Soak::THREADS} threads; each run is the next of #{kinds.size} kinds in " \
        "turn (#{kinds.join(", ")}); stop at #{Soak::MAX_RUNS} runs or #{outcome.seconds} s. " \
        "**#{outcome.runs} runs** in #{Markdown.number(outcome.took, 0)} s, after a warm-up of " \
        "#{Soak::WARMUP_SECONDS} s of the same mix. Each sample is taken after GC.start and malloc_trim; the " \
        "first and the last also #{Soak::THREAD_CACHE_SECONDS} s after the last run (Ruby caches finished " \
        "threads' native threads for 3 s). " \
        "At the end RSS may differ from the warmed-up state by #{Markdown.mib(Soak::RSS_MARGIN, 0)} MiB; " \
        "descriptors, threads and child processes not at all."
    end

    def table(baseline, samples)
      headers = ["at s", "runs", "VmRSS MiB", "open fds", "Ruby threads", "OS threads", "child processes"]
      rows = [["warmed up", "-", *cells(baseline)], *samples.map { |s| [s.seconds, s.runs, *cells(s)] }]
      rows.last[0] = "end (#{rows.last[0]})"
      Markdown.table(headers, rows)
    end

    def cells(sample)
      [Markdown.mib(sample.rss), sample.fds, sample.ruby_threads, sample.os_threads, sample.children]
    end

    def machine
      "Machine: #{Etc.nprocessors} CPUs, Linux #{Etc.uname[:release]}, #{RUBY_DESCRIPTION}; load average at start " \
        "#{File.read("/proc/loadavg").split.first}; gazette_runner #{GazetteRunner::VERSION}; #{Time.now.utc.iso8601}"
    end
  end
end

if $PROGRAM_NAME == __FILE__
  write_to = ARGV.index("--write")&.then { |i| ARGV.slice!(i, 2).last }
  Bench::Soak.main(Integer(ARGV.fetch(0, "60")), write_to)
end
