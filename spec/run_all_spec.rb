# frozen_string_literal: true

require "spec_helper"
require "timeout"

# GazetteRunner.run_all: many programs from one thread, each like run! under
# its own bound, all waited on by one native loop; fail fast by default; an
# interrupted caller leaves nothing running.
RSpec.describe "GazetteRunner.run_all", :scratch_dir do
  # A command that notes its start and end in `log` (one appended line each:
  # O_APPEND writes this small are atomic) and records its pid.
  def noted(name, seconds, exit_code: 0)
    sh(%(echo "+ #{name}" >> #{@dir}/log; echo $$ > #{@dir}/#{name}.pid; sleep #{seconds}; ) +
       %(echo "- #{name}" >> #{@dir}/log; echo "#{name}"; exit #{exit_code}))
  end

  # The most commands that ran at once, from the log.
  def most_at_once
    File.readlines(File.join(@dir, "log")).reduce([0, 0]) do |(now, most), line|
      now += line.start_with?("+") ? 1 : -1
      [now, [most, now].max]
    end.last
  end

  def pid_of(name) = pid_from(File.join(@dir, "#{name}.pid"))

  def nothing_left_of(*names)
    names.all? { |name| (pid = pid_of(name)).nil? || (!alive?(pid) && live_group_members(pid).empty?) }
  end

  it "returns every result in input order, at most `concurrency` at once", :gc_stress do
    results = GazetteRunner.run_all(Array.new(7) { |i| noted("c#{i}", 0.3) }, concurrency: 3)
    expect(results.map(&:stdout)).to eq(Array.new(7) { |i| "c#{i}\n" })
    expect(results).to all(be_a(GazetteRunner::Result).and(be_success).and(be_frozen))
    # Under GC.stress a spawn is slow enough for the first sleeper to end before the third starts.
    expect(most_at_once).to(ENV["GAZETTE_GC_STRESS"] == "1" ? be_between(1, 3) : eq(3))
    expect(own_zombies).to be_empty
  end

  it "waits on all of them from the calling thread: no thread per program" do
    threads = []
    count_threads = ->(_line) { threads << Thread.list.size }
    GazetteRunner.run_all(Array.new(6) { |i| sh("echo #{i}; sleep 0.2") }, concurrency: 6, on_stdout: count_threads)
    expect(threads.size).to eq(6)
    expect(threads.uniq).to eq([Thread.list.size])
  end

  it "gives each command its own options over the shared ones" do
    error = error_from do
      GazetteRunner.run_all([sh("echo shared"), [sh("sleep 5"), { timeout: 0.2, kill_after: 0.1 }]],
                            timeout: 10)
    end
    expect(error).to be_a(GazetteRunner::BatchError)
    expect(error.fates.map(&:state)).to eq(%i[succeeded failed])
    expect(error.fates.last.error).to be_a(GazetteRunner::TimeoutError)
    expect(error.fates.last.error.result.terminated_at).to be_within(0.1).of(0.2)
    expect(error.fates.first.result.stdout).to eq("shared\n")
    expect(error.outcome).to eq(:timeout)
  end

  describe "fail fast" do
    it "ends the running programs, starts no more and reports every fate", :gc_stress do
      commands = [noted("failing", 0.2, exit_code: 3), noted("long1", 30), noted("long2", 30), noted("never", 0)]
      error = nil
      took = elapsed { error = error_from { GazetteRunner.run_all(commands, concurrency: 3, kill_after: 0.5) } }
      expect(error).to be_a(GazetteRunner::BatchError)
      expect(error.fates.map(&:state)).to eq(%i[failed cancelled cancelled not_started])
      expect(error.fates.map(&:index)).to eq([0, 1, 2, 3])
      expect(error.first_failure.error).to be_a(GazetteRunner::ExitError)
      expect(error.first_failure.error.exit_code).to eq(3)
      expect(error.result.exit_code).to eq(3)
      expect(error.outcome).to eq(:exit_error)
      cancelled = error.fates[1]
      expect(cancelled.error).to be_a(GazetteRunner::CancelledError)
      expect(cancelled.result.signal_name).to eq("SIGTERM")
      expect(error.message).to include("1 of 4 commands failed", "2 cancelled", "1 not started", "exited with 3")
      expect(took).to be < time_bound(5) # the 30 s sleepers were ended, not waited for
      expect(nothing_left_of("long1", "long2")).to be(true)
      expect(File.exist?(File.join(@dir, "never.pid"))).to be(false)
    end

    # A command with no option, while nothing listens, is a native plain run
    # (Native::Batch#start_plain), which counts itself in the stats: the same
    # fates and the same counts as the full path's attempts.
    it "reports the same fates and stats for commands with no option", :gc_stress do
      expect_plain_runs
      commands = [noted("failing", 1, exit_code: 3), noted("long1", 30), %w[true], noted("long2", 30)]
      [nil, { timeout: 60 }].each do |options|
        GazetteRunner.stats.reset
        given = options ? commands.map { |argv| [argv, options] } : commands
        fates = error_from { GazetteRunner.run_all(given, concurrency: 3) }.fates.map(&:state)
        expect(nothing_left_of("long1", "long2")).to be(true)
        # The third worker takes long2 once `true` is done, well within the
        # second (unless GC stress slows a spawn that much).
        expect(fates).to eq(%i[failed cancelled succeeded cancelled]) unless ENV["GAZETTE_GC_STRESS"]
        expect(GazetteRunner.stats.counts.reject { |_, n| n.zero? })
          .to eq({ ok: 1, exit_error: 1, interrupted: fates.count(:cancelled) })
        expect(GazetteRunner.stats.total.durations.count).to eq(fates.count { |state| state != :not_started })
      end
    end

    it "sends SIGKILL after kill_after to a program that ignores SIGTERM" do
      stubborn = sh("trap '' TERM; echo $$ > #{@dir}/stubborn.pid; sleep 30")
      error = error_from do
        GazetteRunner.run_all([sh("sleep 0.3; exit 1"), stubborn], kill_after: 0.4)
      end
      result = error.fates.last.result
      expect(result.signal_name).to eq("SIGKILL")
      expect(result.killed_at - result.terminated_at).to be_within(0.15).of(0.4)
      expect(nothing_left_of("stubborn")).to be(true)
    end

    it "cancels a command waiting between attempts" do
      commands = [sh("sleep 0.3; exit 2"), [sh("exit 1"), { retries: 3, backoff: 20, max_backoff: 20 }]]
      error = nil
      took = elapsed { error = error_from { GazetteRunner.run_all(commands) } }
      expect(error.fates.map(&:state)).to eq(%i[failed cancelled])
      expect(took).to be < time_bound(5)
    end
  end

  it "runs every command with fail_fast: false and returns the fates together" do
    commands = [sh("exit 3"), noted("slow", 0.5), sh("exit 4")]
    error = error_from { GazetteRunner.run_all(commands, concurrency: 2, fail_fast: false) }
    expect(error.fates.map(&:state)).to eq(%i[failed succeeded failed])
    expect(error.failures.map { |fate| fate.error.exit_code }).to eq([3, 4])
    expect(error.fates[1].result.stdout).to eq("slow\n")
  end

  it "retries a command as run! does, and reports each attempt" do
    counter = File.join(@dir, "attempts")
    flaky = sh("echo x >> #{counter}; [ $(wc -l < #{counter}) -ge 2 ]")
    events = events_of { GazetteRunner.run_all([[flaky, { retries: 2, backoff: 0.05 }], sh("true")]) }
    expect(events.map(&:outcome).sort).to eq(%i[exit_error ok ok])
    expect(File.readlines(counter).size).to eq(2)
  end

  it "keeps each command's callbacks; one that raises fails its command", :gc_stress do
    lines = Hash.new { |hash, key| hash[key] = [] }
    failing = ->(_line) { raise ArgumentError, "bad page" }
    commands = [[sh("echo a; echo b"), { on_stdout: ->(line) { lines[:first] << line } }],
                [sh("echo c; sleep 0.3; echo d"), { on_stdout: ->(line) { lines[:second] << line } }]]
    GazetteRunner.run_all(commands)
    expect(lines).to eq(first: %W[a\n b\n], second: %W[c\n d\n])

    error = nil
    events = events_of do
      error = error_from { GazetteRunner.run_all([[sh("echo x; sleep 30"), { on_stdout: failing }], sh("sleep 30")]) }
    end
    expect(error.fates.map(&:state)).to eq(%i[failed cancelled])
    expect(error.first_failure.error.message).to eq("bad page")
    expect(error.outcome).to eq(:callback_error)
    expect(events.map(&:outcome).sort).to eq(%i[callback_error interrupted])
  end

  it "lets an enclosing deadline bound them all" do
    error = nil
    took = elapsed do
      error = error_from { GazetteRunner.within(0.5) { GazetteRunner.run_all([sh("sleep 30")] * 2, kill_after: 0.1) } }
    end
    # Both reach the deadline at once: both fail, or whichever is reaped first
    # fails and the other is cancelled.
    states = error.fates.map(&:state)
    expect(states).to include(:failed)
    expect(states - %i[failed cancelled]).to be_empty
    expect(error.first_failure.error).to be_a(GazetteRunner::TimeoutError)
    expect(took).to be < time_bound(3)
  end

  it "reports a breaker's refusal as that command's failure" do
    breaker = GazetteRunner::CircuitBreaker.new("run-all-#{object_id}", threshold: 1, cool_off: 60)
    error_from { GazetteRunner.run!(sh("exit 1"), breaker:) }
    error = error_from { GazetteRunner.run_all([[sh("true"), { breaker: }]]) }
    expect(error.first_failure.error).to be_a(GazetteRunner::CircuitOpenError)
  end

  describe "an interrupted caller" do
    def interrupt_during_run_all(names)
      thread = Thread.new do
        Thread.current.report_on_exception = false
        GazetteRunner.run_all(names.map { |name| noted(name, 30) }, concurrency: names.size)
      end
      eventually(within: time_bound(5)) { names.all? { |name| pid_of(name) } }
      yield thread
      thread
    end

    it "ends and reaps every program before Thread#raise propagates", :gc_stress do
      events = events_of do
        thread = interrupt_during_run_all(%w[a b c]) { |t| t.raise(Interrupt) }
        expect { thread.join(time_bound(5)) }.to raise_error(Interrupt)
        expect(nothing_left_of("a", "b", "c")).to be(true)
      end
      expect(events.map(&:outcome)).to eq(%i[interrupted] * 3)
      expect(GazetteRunner.running).to be_empty
      expect(own_zombies).to be_empty
    end

    it "counts commands with no option ended by Thread#raise as interrupted" do
      expect_plain_runs
      GazetteRunner.stats.reset
      thread = interrupt_during_run_all(%w[a b]) { |t| t.raise(Interrupt) }
      expect { thread.join(time_bound(5)) }.to raise_error(Interrupt)
      expect(nothing_left_of("a", "b")).to be(true)
      expect(GazetteRunner.stats.counts.reject { |_, n| n.zero? }).to eq(interrupted: 2)
      expect(GazetteRunner.running).to be_empty
    end

    it "ends and reaps every program when the thread is killed" do
      thread = interrupt_during_run_all(%w[a b], &:kill)
      expect(thread.join(time_bound(5))).to eq(thread)
      expect(nothing_left_of("a", "b")).to be(true)
      expect(GazetteRunner.running).to be_empty
    end

    it "leaves nothing running when the host exits meanwhile" do
      status, = run_ruby_child(<<~RUBY, within: time_bound(20))
        require "gazette_runner"
        Thread.new { GazetteRunner.run_all(%w[a b].map { |name| #{noted("NAME", 600).inspect}.map { |arg| arg.gsub("NAME", name) } }) }
        sleep 0.01 until %w[a b].all? { |name| File.size?(File.join(#{@dir.inspect}, "\#{name}.pid")) }
        exit 0
      RUBY
      expect(status).to be_success
      expect(eventually(within: time_bound(3)) { nothing_left_of("a", "b") }).to be(true)
    end

    it "ends and reaps every program when Timeout fires" do
      took = elapsed do
        expect do
          Timeout.timeout(0.5) { GazetteRunner.run_all([noted("a", 30), noted("b", 30)]) }
        end.to raise_error(Timeout::Error)
      end
      expect(took).to be < time_bound(3)
      expect(nothing_left_of("a", "b")).to be(true)
      expect(GazetteRunner.running).to be_empty
    end

    # Timeout's exception is a `throw` when it can be, which unwinds past
    # every rescue: the workers are unwound from the batch's ensure, and must
    # then start nothing more.
    it "starts nothing more once Timeout fires among many short commands" do
      20.times do
        expect do
          Timeout.timeout(0.02 + (rand * 0.1)) { GazetteRunner.run_all([["true"]] * 500, concurrency: 8) }
        end.to raise_error(Timeout::Error)
        expect(GazetteRunner.running).to be_empty
      end
      expect(own_zombies).to be_empty
    end
  end

  it "keeps each program's bound while another thread holds the GVL" do
    log = File.join(@dir, "ticks")
    holder = Thread.new do
      sleep 0.2
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      # A tight Ruby loop holds the GVL for a time slice at a time; with many
      # such threads the caller waits long for each turn.
      nil while Process.clock_gettime(Process::CLOCK_MONOTONIC) - started < 2
    end
    tick = %(while :; do date +%s.%N >> #{log}; sleep 0.1; done)
    started = Process.clock_gettime(Process::CLOCK_REALTIME)
    error = error_from { GazetteRunner.run_all([sh(tick), sh(tick)], timeout: 0.5, kill_after: 0.2) }
    holder.join
    expect(error.first_failure.error).to be_a(GazetteRunner::TimeoutError)
    expect(File.readlines(log).map(&:to_f).max - started).to be < 0.5 + 0.2 + 0.4
  end

  describe "a hostile or careless child" do
    it "ends a flood at max_output and a grandchild holding the pipe, each as its own command's fate" do
      flood = sh("yes flood")
      holder = sh("sleep 30 & echo $! > #{@dir}/grandchild.pid; echo parent done")
      error = nil
      took = elapsed do
        error = error_from { GazetteRunner.run_all([flood, holder], fail_fast: false, max_output: 1 << 20) }
      end
      expect(error.fates.map(&:state)).to eq(%i[failed succeeded])
      expect(error.first_failure.error).to be_a(GazetteRunner::OutputLimitError)
      expect(error.first_failure.result.stdout.bytesize).to eq(1 << 20)
      expect(error.fates.last.result).to be_killed_leftovers
      expect(alive?(Integer(File.read(File.join(@dir, "grandchild.pid"))))).to be(false)
      expect(took).to be < time_bound(5)
    end

    it "keeps another program's bound while one command's callback sleeps on the calling thread" do
      log = File.join(@dir, "ticks")
      tick = sh(%(while :; do date +%s.%N >> #{log}; sleep 0.1; done))
      slow = [sh("echo line; sleep 5"), { on_stdout: ->(_line) { sleep 2 } }]
      started = Process.clock_gettime(Process::CLOCK_REALTIME)
      error = error_from { GazetteRunner.run_all([slow, [tick, { timeout: 0.5, kill_after: 0.2 }]], fail_fast: false) }
      expect(error.fates.last.error).to be_a(GazetteRunner::TimeoutError)
      # The callback held the calling thread for 2 s; the supervisor thread ended the group anyway.
      expect(File.readlines(log).map(&:to_f).max - started).to be < 0.5 + 0.2 + 0.4
      expect(error.fates.last.error.result.terminated_at).to be_within(0.1).of(0.5)
    end
  end

  describe "bad arguments" do
    it "refuses them all before anything starts" do
      marker = File.join(@dir, "ran")
      expect { GazetteRunner.run_all([sh("touch #{marker}"), [["true"], { timeout: -1 }]]) }
        .to raise_error(ArgumentError, /timeout/)
      expect { GazetteRunner.run_all([sh("touch #{marker}"), "true"]) }.to raise_error(ArgumentError, /argv/)
      expect { GazetteRunner.run_all([sh("touch #{marker}")], concurrency: 0) }.to raise_error(ArgumentError)
      expect { GazetteRunner.run_all([sh("touch #{marker}")], concurrency: 10_000) }.to raise_error(ArgumentError)
      expect { GazetteRunner.run_all("true") }.to raise_error(ArgumentError, /Array/)
      expect { GazetteRunner.run_all([[["true"], { timeout: 1 }, :extra]]) }.to raise_error(ArgumentError, /argv/)
      expect(File.exist?(marker)).to be(false)
    end

    it "returns an empty Array for no commands" do
      expect(GazetteRunner.run_all([])).to eq([])
    end
  end

  it "reports a program that cannot start as that command's SpawnError" do
    commands = [sh("sleep 30"), ["gazette-no-such-program"], sh("true")]
    error = error_from { GazetteRunner.run_all(commands, concurrency: 2) }
    expect(error.fates.map(&:state)).to eq(%i[cancelled failed not_started])
    expect(error.first_failure.error).to be_a(GazetteRunner::SpawnError)
  end

  it "gives every Fate readers and predicates, frozen" do
    error = error_from { GazetteRunner.run_all([sh("exit 1"), sh("true")], concurrency: 1) }
    failed, not_started = error.fates
    expect(failed).to be_failed.and(be_frozen)
    expect(not_started).to be_not_started
    expect(not_started.result).to be_nil
    expect(failed.inspect).to include("failed", "GazetteRunner::ExitError")
    expect(error.fates).to be_frozen
  end
end
