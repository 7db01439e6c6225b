# frozen_string_literal: true

require "timeout"
require_relative "../contenders"
require_relative "../support"

module Bench
  # Row 6: how long after its 0.2 s bound a timed-out call returns, and what it
  # leaves running. Open3 under Timeout.timeout returns only once the child has
  # exited by itself (its `ensure` waits), so it gets `sleep 2`, not `sleep 10`,
  # as does every peer that would otherwise wait out a TERM-ignoring child.
  module TimeoutCases
    BOUND = 0.2
    KILL_AFTER = 0.2
    TARGET = 0.05
    IGNORE_TERM = "trap '' TERM; sleep %d"
    SETTLE = 0.05

    # `kind` is :obeying or :ignoring SIGTERM; `bound` is when the call may
    # return at the earliest, the point its lateness is measured from.
    Case = Struct.new(:kind, :key, :call, :bound, :runs, :action, :note, keyword_init: true)

    # Open3's reader threads die with IOError when its `ensure` closes their
    # pipes under them; that is expected here and would only clutter the output.
    def self.quietly
      report = Thread.report_on_exception
      Thread.report_on_exception = false
      yield
    ensure
      Thread.report_on_exception = report
    end

    CASES = [
      Case.new(kind: :obeying, key: :gazette_runner, call: "run(%w[sleep 10], timeout: 0.2)", bound: BOUND, runs: 5,
               action: -> { GazetteRunner.run(%w[sleep 10], timeout: BOUND) }),
      Case.new(kind: :obeying, key: :posix_spawn, call: "Child.new(\"sleep\", \"10\", timeout: 0.2)", bound: BOUND,
               runs: 5, action: -> { POSIX::Spawn::Child.new("sleep", "10", timeout: BOUND) }),
      Case.new(kind: :obeying, key: :open3, call: "Timeout.timeout(0.2) { capture3(\"sleep\", \"2\") }", bound: BOUND,
               runs: 1, note: "waits for `sleep 2`",
               action: -> { quietly { Timeout.timeout(BOUND) { Open3.capture3("sleep", "2") } } }),
      Case.new(kind: :obeying, key: :backticks, call: "Timeout.timeout(0.2) { `sleep 2` }", bound: BOUND, runs: 3,
               action: -> { Timeout.timeout(BOUND) { `sleep 2` } }),
      Case.new(kind: :ignoring, key: :gazette_runner, call: "run([\"sh\", \"-c\", \"#{format(IGNORE_TERM, 10)}\"], " \
                                                            "timeout: 0.2, kill_after: 0.2)",
               bound: BOUND + KILL_AFTER, runs: 5,
               action: lambda {
                 GazetteRunner.run(["sh", "-c", format(IGNORE_TERM, 10)], timeout: BOUND, kill_after: KILL_AFTER)
               }),
      Case.new(kind: :ignoring, key: :posix_spawn, call: "Child.new(\"sh\", \"-c\", \"#{format(IGNORE_TERM, 2)}\", " \
                                                         "timeout: 0.2)",
               bound: BOUND, runs: 1, note: "waits for `sleep 2`",
               action: -> { POSIX::Spawn::Child.new("sh", "-c", format(IGNORE_TERM, 2), timeout: BOUND) }),
      Case.new(kind: :obeying, key: :mixlib, call: "ShellOut.new(\"sleep\", \"10\", timeout: 0.2).run_command",
               bound: BOUND, runs: 1, note: "TERM, then a fixed 3 s sleep before KILL",
               action: -> { Mixlib::ShellOut.new("sleep", "10", timeout: BOUND).run_command }),
      Case.new(kind: :obeying, key: :tty_command, call: "run!(\"sleep 10\", timeout: 0.2)", bound: BOUND, runs: 5,
               action: -> { TTY_COMMAND.run!("sleep 10", timeout: BOUND) }),
      Case.new(kind: :obeying, key: :childprocess, call: "poll_for_exit(0.2) on `sleep 10`, then stop(0.2)",
               bound: BOUND, runs: 5,
               action: -> { ChildProcessRun.call(%w[sleep 10], timeout: BOUND, kill_after: KILL_AFTER, leader: true) }),
      Case.new(kind: :ignoring, key: :mixlib, call: "ShellOut.new(\"sh\", \"-c\", \"#{format(IGNORE_TERM, 10)}\", " \
                                                    "timeout: 0.2).run_command",
               bound: BOUND, runs: 1, note: "TERM, then a fixed 3 s sleep before KILL",
               action: -> { Mixlib::ShellOut.new("sh", "-c", format(IGNORE_TERM, 10), timeout: BOUND).run_command }),
      Case.new(kind: :ignoring, key: :tty_command,
               call: "run!([\"sh\", \"-c\", \"#{format(IGNORE_TERM, 10)}\"].shelljoin, timeout: 0.2)",
               bound: BOUND, runs: 5,
               action: -> { TTY_COMMAND.run!(["sh", "-c", format(IGNORE_TERM, 10)].shelljoin, timeout: BOUND) }),
      Case.new(kind: :ignoring, key: :childprocess, call: "poll_for_exit(0.2) on `#{format(IGNORE_TERM, 10)}`, " \
                                                          "then stop(0.2)",
               bound: BOUND + KILL_AFTER, runs: 5,
               action: lambda {
                 ChildProcessRun.call(["sh", "-c", format(IGNORE_TERM, 10)], timeout: BOUND, kill_after: KILL_AFTER,
                                                                             leader: true)
               })
    ].freeze
  end

  # Row 6, measured: the cases of {TimeoutCases}, in rotating rounds.
  module Timeouts
    include TimeoutCases
    Sample = Struct.new(:seconds, :left_running, keyword_init: true)

    NOTE = "Medians. \"Bound\" is the earliest a call may return: the timeout, plus kill_after for " \
           "gazette_runner and ChildProcess (`stop(0.2)`, TERM then KILL) with a TERM-ignoring child (their " \
           "documented bound). Mixlib::ShellOut has no grace parameter: on timeout it sends TERM to the group, " \
           "sleeps 3 s, then KILL, so it runs once per child. \"Children left running\" counts " \
           "live children of this process 50 ms after the call returned (they are then killed and reaped)."

    EXPECTED = [GazetteRunner::TimeoutError, POSIX::Spawn::TimeoutExceeded, Timeout::Error,
                Mixlib::ShellOut::CommandTimeout, TTY::Command::TimeoutExceeded, ChildProcess::TimeoutError].freeze

    module_function

    # @return [Hash{Case=>Array<Sample>}]
    def measure
      samples = CASES.to_h { |c| [c, []] }
      CASES.map(&:runs).max.times do |round|
        CASES.select { |c| c.runs > round }.rotate(round).each { |c| samples[c] << sample(c) }
      end
      samples
    end

    def sample(test)
      seconds = Bench.timed { expect_timeout(test) }
      # A child SIGKILLed just before the call returned (TTY::Command's way)
      # may not have died yet; what is still running 50 ms later was left.
      sleep SETTLE
      left = Bench.live_children
      reap(left)
      Sample.new(seconds:, left_running: left.size)
    end

    def expect_timeout(test)
      test.action.call
      raise "#{test.call} did not time out"
    rescue *EXPECTED
      nil
    end

    # What a contender left behind is ended here, so it cannot slow what follows.
    def reap(pids)
      pids.each do |pid|
        Process.kill("KILL", pid)
        Process.wait(pid)
      rescue Errno::ESRCH, Errno::ECHILD
        nil # gone already, or reaped by Ruby's own waiter
      end
    end

    def headlines(samples)
      [headline(samples, :obeying, "6a. timed out, TERM-obeying child: returned past its 0.2 s bound (ms)",
                target: "≤ #{(TARGET * 1000).round} ms"),
       headline(samples, :ignoring, "6b. timed out, TERM-ignoring child: returned past its bound (ms)", target: "-")]
    end

    def headline(samples, kind, label, target:)
      cases = samples.select { |test, _| test.kind == kind }
      late = cases.to_h { |test, runs| [test.key, lateness(test, runs)] }
      Headline.new(label:, numbers: late, better: :lower, format: ->(seconds) { Markdown.millis(seconds, 0) },
                   notes: cases.to_h { |test, runs| [test.key, note(test, runs)] }, target:,
                   ineligible: left_running(cases), met: verdict(target, late[:gazette_runner]))
    end

    # Only the TERM-obeying case has a target; the other is reported as measured.
    def verdict(target, late)
      return "-" if target == "-"

      Markdown.verdict(late <= TARGET, "#{Markdown.millis(late)} ms")
    end

    def lateness(test, runs) = Bench.median(runs.map(&:seconds)) - test.bound
    # Contenders that left the program running did not do the job, so they
    # cannot be the best peer, however early they returned.
    def left_running(cases) = cases.select { |_, runs| left_running?(runs) }.map { |test, _| test.key }
    def left_running?(runs) = runs.any? { |run| run.left_running.positive? }

    def note(test, runs)
      notes = [test.note, ("left it running" if left_running?(runs))].compact
      notes.empty? ? nil : " (#{notes.join("; ")})"
    end

    def details(samples)
      headers = ["child", "contender", "call", "runs", "returned after ms", "bound s", "past bound ms",
                 "children left running"]
      "## 6. Timeout precision\n\n#{NOTE}\n\n#{Markdown.table(headers, samples.map { |test, runs| row(test, runs) })}"
    end

    def row(test, runs)
      [test.kind == :obeying ? "obeys TERM" : "ignores TERM", LABELS[test.key], Markdown.code(test.call), runs.size,
       Markdown.millis(Bench.median(runs.map(&:seconds)), 0), Markdown.number(test.bound, 1),
       Markdown.millis(lateness(test, runs)), runs.sum(&:left_running)]
    end
  end
end
