# frozen_string_literal: true

require "open3"
require_relative "../support"

module Bench
  # Section 10: many programs at once from one Ruby process. `GazetteRunner.run_all`
  # (one native loop on the calling thread) against N Ruby threads each calling
  # `GazetteRunner.run`, and N threads each calling `Open3.capture3`, each
  # taking commands from one queue. Measured: wall time, the host's CPU time
  # (all its threads, not the children's), the most threads the host had, and
  # its RSS before and after.
  module RunAll
    # Each workload: its commands, the concurrency, and the target for run_all.
    WORKLOADS = {
      sleepers: { label: "200 × `sleep 0.2` at concurrency 50", argv: %w[sleep 0.2], count: 200, concurrency: 50,
                  target: "≤ 0.9 s wall" },
      truths: { label: "2,000 × `/bin/true` at concurrency 16", argv: %w[/bin/true], count: 2000, concurrency: 16,
                target: "more runs/s than the threads, with less CPU" }
    }.freeze
    ROUNDS = 3
    WAYS = {
      run_all: "GazetteRunner.run_all",
      threads_run: "N threads × GazetteRunner.run",
      threads_open3: "N threads × Open3.capture3"
    }.freeze
    SAMPLE_EVERY = 0.005

    Sample = Struct.new(:wall, :cpu, :threads, :rss_before, :rss_after, keyword_init: true)

    module_function

    # @return [Hash{Symbol=>Hash{Symbol=>Array<Sample>}}] per workload, per way, one sample per round
    def measure
      WORKLOADS.to_h do |name, workload|
        Bench.progress("10. #{workload[:label]}: #{ROUNDS} rounds × #{WAYS.size} ways")
        samples = WAYS.keys.to_h { |way| [way, []] }
        ROUNDS.times do |round|
          WAYS.keys.rotate(round).each { |way| samples[way] << sample(way, workload) }
        end
        [name, samples]
      end
    end

    def sample(way, workload)
      commands = Array.new(workload[:count]) { workload[:argv] }
      GC.start
      rss_before = Bench.rss
      most_threads, (wall, cpu) = with_thread_count { timed_with_cpu { run(way, commands, workload[:concurrency]) } }
      Sample.new(wall:, cpu:, threads: most_threads, rss_before:, rss_after: Bench.rss)
    end

    def run(way, commands, concurrency)
      case way
      when :run_all then GazetteRunner.run_all(commands, concurrency:)
      when :threads_run then in_threads(commands, concurrency) { |argv| GazetteRunner.run!(argv) }
      when :threads_open3 then in_threads(commands, concurrency) { |argv| capture3!(argv) }
      end
    end

    def capture3!(argv)
      _out, _err, status = Open3.capture3(*argv)
      raise Failed, argv.join(" ") unless status.success?
    end

    def in_threads(commands, concurrency, &run_one)
      queue = Queue.new
      commands.each { |argv| queue << argv }
      queue.close
      Array.new(concurrency) do
        Thread.new do
          while (argv = queue.pop)
            run_one.call(argv)
          end
        end
      end.each(&:join)
    end

    # [wall seconds, the host's CPU seconds] of the block.
    def timed_with_cpu
      cpu = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
      wall = Bench.now
      yield
      [Bench.now - wall, Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) - cpu]
    end

    # The most Ruby threads the host had while the block ran, less this
    # sampler; and the block's value. (The kernel's count would include the
    # native threads Ruby 3.1 keeps cached for reuse after earlier ways' threads ended.)
    def with_thread_count
      most = 0
      running = true
      sampler = Thread.new do
        while running
          most = [most, Thread.list.size].max
          sleep SAMPLE_EVERY
        end
      end
      value = yield
      running = false
      sampler.join
      [most - 1, value]
    end
  end
end
