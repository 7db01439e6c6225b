# frozen_string_literal: true

require "tmpdir"

RSpec.describe "deadlines", :scratch_dir do
  it "is shared by several calls: each bound is what is left, less kill_after" do
    deadline = GazetteRunner::Deadline.in(4)
    error = nil
    events = events_of do
      GazetteRunner.run(%w[sleep 1], deadline:, kill_after: 0.5)
      # Ignores SIGTERM, so only SIGKILL, after kill_after, ends it.
      error = error_from { GazetteRunner.run(sh("trap '' TERM; exec sleep 30"), deadline:, kill_after: 0.5) }
    end
    expect(error).to be_a(GazetteRunner::TimeoutError)
    first, second = events.map(&:bound)
    expect(first).to be <= 3.5
    expect(second).to be <= first - 1.0 # the first call's second is gone from the budget
    expect(deadline.remaining).to be < 0.5 # the kill ended inside the budget, close to its end
    expect(live_group_members(error.result.pid)).to be_empty
  end

  it "ends even a program that ignores SIGTERM inside the budget" do
    deadline = GazetteRunner::Deadline.in(2)
    took = elapsed do
      error_from { GazetteRunner.run(sh("trap '' TERM; exec sleep 30"), deadline:, kill_after: 1) }
    end
    expect(took).to be_between(0.8, 2.0 + 1.0) # 1 s of budget, 1 s of grace, and a busy machine
  end

  it "takes the smaller of timeout: and the deadline's budget" do
    events = events_of do
      error_from { GazetteRunner.run(%w[sleep 5], deadline: GazetteRunner::Deadline.in(30), timeout: 0.3) }
    end
    expect(events.first.bound).to eq(0.3)
    expect(events.first.outcome).to eq(:timeout)
  end

  it "uses the whole budget, not default_timeout, when no timeout: is given" do
    GazetteRunner.default_timeout = 0.2
    result = GazetteRunner.run(["sleep", "0.5"], deadline: GazetteRunner::Deadline.in(10), kill_after: 1)
    expect(result.success?).to be(true)
  ensure
    GazetteRunner.default_timeout = GazetteRunner::DEFAULT_TIMEOUT
  end

  it "raises TimeoutError before spawning anything once the deadline has expired" do
    marker = File.join(@dir, "ran")
    deadline = GazetteRunner::Deadline.in(0)
    events = events_of { @error = error_from { GazetteRunner.run(["touch", marker], deadline:) } }
    expect(@error).to be_a(GazetteRunner::TimeoutError).and(be_a(Timeout::Error))
    expect(@error.result).to be_nil
    expect(@error.message).to match(/touch was not started/)
    expect(File.exist?(marker)).to be(false)
    expect(events.map { |e| [e.outcome, e.pid] }).to eq([[:timeout, nil]])
  end

  it "refuses to start when less than kill_after is left, since the kill could not finish in time" do
    marker = File.join(@dir, "ran")
    took = elapsed do
      deadline = GazetteRunner::Deadline.in(1)
      error = error_from { GazetteRunner.run(["touch", marker], deadline:, kill_after: 5) }
      expect(error).to be_a(GazetteRunner::TimeoutError)
    end
    expect(took).to be < 0.5
    expect(File.exist?(marker)).to be(false)
  end

  describe "GazetteRunner.within" do
    it "gives every call inside the block its deadline implicitly" do
      events = events_of do
        GazetteRunner.within(3) do |deadline|
          expect(deadline.remaining).to be_between(2, 3)
          GazetteRunner.run(%w[true], kill_after: 0.5)
          error_from { GazetteRunner.run(%w[sleep 30], kill_after: 0.5) }
        end
      end
      expect(events.map(&:outcome)).to eq(%i[ok timeout])
      expect(events.map(&:bound)).to all(be <= 2.5)
    end

    it "never extends an enclosing budget, nor lets an explicit deadline escape it" do
      GazetteRunner.within(1) do |outer|
        GazetteRunner.within(100) { |inner| expect(inner).to equal(outer) }
        events = events_of { GazetteRunner.run(%w[true], deadline: GazetteRunner::Deadline.in(100), kill_after: 0.1) }
        expect(events.first.bound).to be <= 0.9
      end
      expect(GazetteRunner::Deadline.current).to be_nil
    end

    it "raises nothing asynchronously: Ruby code runs on past the deadline, and calls then refuse to start" do
      value = GazetteRunner.within(0.2) do
        sleep 0.4
        error = error_from { GazetteRunner.run(%w[true]) }
        expect(error).to be_a(GazetteRunner::TimeoutError)
        :finished
      end
      expect(value).to eq(:finished)
    end

    it "is per thread: a thread started inside the block must be handed the deadline" do
      GazetteRunner.within(5) do |deadline|
        expect(Thread.new { GazetteRunner::Deadline.current }.value).to be_nil
        expect(Thread.new { GazetteRunner.within(deadline) { |d| d } }.value).to equal(deadline)
      end
    end

    it "accepts a Deadline" do
      deadline = GazetteRunner::Deadline.in(5)
      expect(GazetteRunner.within(deadline) { |d| d }).to equal(deadline)
    end
  end

  it "refuses bad arguments before running anything" do
    expect { GazetteRunner::Deadline.in(-1) }.to raise_error(ArgumentError)
    expect { GazetteRunner::Deadline.in(Float::INFINITY) }.to raise_error(ArgumentError)
    expect { GazetteRunner.run(%w[true], deadline: 5) }.to raise_error(ArgumentError, /Deadline/)
    expect { GazetteRunner.within(5) }.to raise_error(ArgumentError)
  end

  it "is frozen and counts down on the monotonic clock" do
    deadline = GazetteRunner::Deadline.in(10)
    expect(deadline).to be_frozen
    expect(deadline.remaining).to be_between(9, 10)
    expect(deadline.expired?).to be(false)
    expect(GazetteRunner::Deadline.in(0).expired?).to be(true)
  end
end
