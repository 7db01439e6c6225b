# frozen_string_literal: true

require "spec_helper"
require "sqlite3"

# The bound holds while another thread holds Ruby's GVL: the group is ended
# by the core's supervisor thread, which never needs the GVL, even when the
# calling thread is stuck waiting for it (to run a callback, to hand over a
# progress report, to return). The GVL holder is real: sqlite3's busy handler
# keeps the GVL while it waits for a lock another connection holds.
module BusyHost
  TIMEOUT = 1.0
  KILL_AFTER = 0.5
  # Scheduling slack for the child's last tick: it writes one every 0.1 s.
  SLACK = 0.3
  HOLD = 4.0
  TICK = 'while :; do date +%s.%N >> "$LOG"; sleep 0.1; done'
end

RSpec.describe "the bound under a busy host", :scratch_dir do
  def now = Process.clock_gettime(Process::CLOCK_REALTIME)

  # Starts a thread that holds the GVL for about BusyHost::HOLD seconds, from 0.2 s on.
  def hold_gvl
    db = File.join(@dir, "busy.db")
    SQLite3::Database.new(db).execute("CREATE TABLE t (x)")
    locker = SQLite3::Database.new(db)
    locker.execute("BEGIN IMMEDIATE")
    holder = Thread.new do
      sleep 0.2
      waiting = SQLite3::Database.new(db)
      waiting.busy_timeout = (BusyHost::HOLD * 1000).to_i
      waiting.execute("INSERT INTO t VALUES (1)")
    rescue SQLite3::BusyException
      :held_until_the_timeout
    end
    [holder, locker]
  end

  # The run, bounded by options; or, with `plain: true`, by the module's
  # defaults, so that it has no option at all (a plain run: one native call).
  def bounded_run(argv, plain: false, **options)
    return GazetteRunner.run(argv, timeout: BusyHost::TIMEOUT, kill_after: BusyHost::KILL_AFTER, **options) unless plain

    expect_plain_runs
    GazetteRunner.default_timeout = BusyHost::TIMEOUT
    GazetteRunner.default_kill_after = BusyHost::KILL_AFTER
    GazetteRunner.run(argv)
  ensure
    GazetteRunner.default_timeout = GazetteRunner::DEFAULT_TIMEOUT
    GazetteRunner.default_kill_after = GazetteRunner::DEFAULT_KILL_AFTER
  end

  # Runs `script` (which appends a timestamp to $LOG every 0.1 s) under the
  # bound while the GVL is held; returns when the child was last alive, and
  # when the call returned, both from the start.
  def run_while_busy(script, **options)
    log = File.join(@dir, "ticks")
    holder, locker = hold_gvl
    started = now
    error = nil
    begin
      bounded_run(sh("LOG=#{log}; #{script}"), **options)
    rescue GazetteRunner::TimeoutError => e
      error = e
    end
    returned = now - started
    expect(holder.join(BusyHost::HOLD + 10)).to eq(holder)
    locker.close
    last_tick = File.readlines(log).map(&:to_f).max - started
    [last_tick, returned, error]
  end

  shared_examples "ended on time" do
    it "ends the group at the bound, however late the call returns" do
      last_tick, returned, error = run_while_busy(script, **options)
      expect(last_tick).to be <= BusyHost::TIMEOUT + BusyHost::KILL_AFTER + BusyHost::SLACK
      expect(error).to be_a(GazetteRunner::TimeoutError)
      expect(error.result.terminated_at).to be_within(0.1).of(BusyHost::TIMEOUT)
      # The proof that the GVL really was held: the call came back late, and says so.
      expect(returned).to be > 2.5
      expect(error.message).to include("the call returned after")
    end
  end

  context "with a PROGRESS line on stderr" do
    let(:script) { "sleep 0.3; echo 'PROGRESS 5 slicing' >&2; #{BusyHost::TICK}" }
    let(:options) { {} }

    include_examples "ended on time"
  end

  context "with a line callback on stdout" do
    let(:script) { 'while :; do date +%s.%N >> "$LOG"; echo line; sleep 0.1; done' }
    let(:options) { { on_stdout: ->(_line) {} } }

    include_examples "ended on time"
  end

  context "with an on_progress callback" do
    let(:script) { 'while :; do date +%s.%N >> "$LOG"; echo "PROGRESS 1" >&2; sleep 0.1; done' }
    let(:options) { { on_progress: ->(_progress) {} } }

    include_examples "ended on time"
  end

  context "with a silent child" do
    let(:script) { BusyHost::TICK }
    let(:options) { {} }

    include_examples "ended on time"
  end

  context "with a child that ignores SIGTERM, run with no option at all (one native call)" do
    let(:script) { "trap '' TERM; #{BusyHost::TICK}" }
    let(:options) { { plain: true } }

    include_examples "ended on time"
  end

  it "ends the group at the bound while a callback sleeps on the calling thread" do
    log = File.join(@dir, "ticks")
    started = now
    error = nil
    begin
      GazetteRunner.run(sh("LOG=#{log}; echo first; #{BusyHost::TICK}"),
                        timeout: BusyHost::TIMEOUT, kill_after: BusyHost::KILL_AFTER, on_stdout: ->(_line) { sleep 3 })
    rescue GazetteRunner::TimeoutError => e
      error = e
    end
    last_tick = File.readlines(log).map(&:to_f).max - started
    expect(last_tick).to be <= BusyHost::TIMEOUT + BusyHost::KILL_AFTER + BusyHost::SLACK
    expect(error.result.terminated_at).to be_within(0.1).of(BusyHost::TIMEOUT)
    expect(error.returned_after).to be > 2.5
  end

  it "keeps the latest progress natively, readable while the program runs" do
    thread = Thread.new do
      Thread.current.report_on_exception = false
      GazetteRunner.run(sh("echo 'PROGRESS 40 page 4 of 10' >&2; sleep 5"), timeout: 0.8)
    end
    eventually(within: time_bound(3)) { GazetteRunner.running.any? { |child| child.progress&.percent == 40 } }
    child = GazetteRunner.running.find { |c| c.progress&.percent == 40 }
    expect(child.progress.message).to eq("page 4 of 10")
    expect { thread.join(time_bound(5)) }.to raise_error(GazetteRunner::TimeoutError)
  end

  it "keeps the bound in a forked host, whose supervisor is its own" do
    GazetteRunner.run(["true"]) # the parent's supervisor thread exists now
    log = File.join(@dir, "ticks")
    pid = fork do
      started = now
      begin
        GazetteRunner.run(sh("LOG=#{log}; #{BusyHost::TICK}"), timeout: 0.3, kill_after: 0.2)
      rescue GazetteRunner::TimeoutError
        exit!(now - started < 2 ? 0 : 2)
      end
      exit!(3)
    end
    expect(bounded_wait(pid, time_bound(10)).exitstatus).to eq(0)
    expect(File.readlines(log).map(&:to_f).max - File.readlines(log).map(&:to_f).min).to be < 0.3 + 0.2 + 0.3
  end
end
