# frozen_string_literal: true

require "sqlite3"
require "timeout"
require "fileutils"
require "tmpdir"
require_relative "../contenders"
require_relative "../support"

module Bench
  # Row 6c: a 0.2 s bound while another thread holds Ruby's GVL for a second
  # (sqlite3's busy handler keeps the GVL while it waits for a lock). The child
  # records when SIGTERM reached it; how late that was past the bound is the
  # number. A runner whose timer needs the GVL can only act once the other
  # thread lets go; gazette_runner's deadlines are kept by a native thread.
  module BusyGvl
    BOUND = 0.2
    HOLD = 1.0
    ROUNDS = 3
    TARGET = 0.010
    # Records the wall-clock time of SIGTERM, then exits; exits by itself after
    # 3 s. Perl: it starts in a few ms (well inside the bound, even on a busy
    # machine), and its sleep is cut short by the signal.
    CHILD = 'use Time::HiRes qw(time); $SIG{TERM} = sub { open(my $f, ">", $ARGV[0]); print $f time(); exit 0 }; ' \
            "sleep 3"

    CALLS = {
      gazette_runner: ->(argv) { GazetteRunner.run(argv, timeout: BOUND, kill_after: 1) },
      posix_spawn: ->(argv) { POSIX::Spawn::Child.new(*argv, timeout: BOUND) },
      open3: ->(argv) { TimeoutCases.quietly { Timeout.timeout(BOUND) { Open3.capture3(*argv) } } },
      mixlib: ->(argv) { Mixlib::ShellOut.new(*argv, timeout: BOUND).run_command },
      tty_command: ->(argv) { TTY_COMMAND.run!(argv.shelljoin, timeout: BOUND) },
      childprocess: ->(argv) { ChildProcessRun.call(argv, timeout: BOUND, kill_after: 1, leader: true) }
    }.freeze

    Sample = Struct.new(:late, :returned, keyword_init: true)

    module_function

    # @return [Hash{Symbol=>Array<Sample>}]
    def measure
      Bench.progress("6c. the bound while another thread holds the GVL: #{ROUNDS} rounds")
      Dir.mktmpdir("busy-gvl") do |dir|
        samples = CALLS.transform_values { [] }
        ROUNDS.times do |round|
          CALLS.keys.rotate(round).each { |key| samples[key] << sample(dir, key) }
        end
        samples
      end
    end

    def sample(dir, key)
      mark = File.join(dir, "term-#{key}")
      FileUtils.rm_f(mark)
      holder = hold_gvl(dir)
      started = Time.now.to_f
      call(key, mark)
      returned = Time.now.to_f - started
      holder.join
      Sample.new(late: File.exist?(mark) ? Float(File.read(mark)) - started - BOUND : nil, returned:)
    end

    def call(key, mark)
      CALLS.fetch(key).call(["perl", "-e", CHILD, mark])
    rescue *Timeouts::EXPECTED
      nil
    end

    # A thread that holds the GVL for HOLD seconds from 0.1 s on.
    def hold_gvl(dir)
      db = File.join(dir, "busy-#{rand(1 << 30)}.db")
      SQLite3::Database.new(db).execute("CREATE TABLE t (x)")
      locker = SQLite3::Database.new(db)
      locker.execute("BEGIN IMMEDIATE")
      Thread.new do
        sleep 0.1
        waiting = SQLite3::Database.new(db)
        waiting.busy_timeout = (HOLD * 1000).to_i
        waiting.execute("INSERT INTO t VALUES (1)")
      rescue SQLite3::BusyException
        nil
      ensure
        locker.close
      end
    end

    # A peer that never sent SIGTERM (Open3 under Timeout waits for the child
    # to exit by itself) has no lateness: it did not end the program at all.
    def lateness(samples)
      lates = samples.map(&:late)
      lates.all? ? Bench.median(lates) : nil
    end

    def headline(samples)
      late = samples.transform_values { |runs| lateness(runs) }
      never = late.select { |_, value| value.nil? }.keys
      Headline.new(label: "6c. #{BOUND} s bound while another thread holds the GVL: SIGTERM landed past it (ms)",
                   numbers: late.compact, better: :lower, format: ->(seconds) { Markdown.millis(seconds, 1) },
                   notes: never.to_h { |key| [key, " (no SIGTERM: waited for the child, or sent SIGKILL alone)"] },
                   target: "≤ #{(TARGET * 1000).round} ms", ineligible: never, met: verdict(late[:gazette_runner]))
    end

    def verdict(late) = Markdown.verdict(late.to_f <= TARGET, "#{Markdown.millis(late.to_f, 1)} ms")

    def details(samples)
      headers = ["contender", "runs", "SIGTERM past the bound ms (median)", "call returned after ms (median)"]
      rows = samples.map do |key, runs|
        late = lateness(runs)
        [LABELS[key], runs.size, late ? Markdown.millis(late, 1) : "no SIGTERM",
         Markdown.millis(Bench.median(runs.map(&:returned)), 0)]
      end
      "## 6c. The bound under a busy GVL\n\nA child under a #{BOUND} s bound while another thread of the host " \
        "holds the GVL for #{HOLD} s from 0.1 s on (sqlite3's busy handler). The child (Perl) writes the time " \
        "SIGTERM reached it. Every call returns late here — returning needs the GVL — but only a runner whose " \
        "timer needs no GVL ends the program on time.\n\n#{Markdown.table(headers, rows)}"
    end
  end
end
