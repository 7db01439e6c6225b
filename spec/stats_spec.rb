# frozen_string_literal: true

require "json"
require "tmpdir"

RSpec.describe "stats" do
  def quietly
    yield
  rescue StandardError
    nil
  end

  let(:stats) { GazetteRunner.stats }

  before { stats.reset }

  it "counts runs by outcome after a mixed run, with duration percentiles" do
    3.times { GazetteRunner.run(%w[true]) }
    2.times { GazetteRunner.run(%w[false]) }
    quietly { GazetteRunner.run(%w[sleep 10], timeout: 0.3, kill_after: 0.1) }
    quietly { GazetteRunner.run(["/nonexistent/gazette-program"]) }
    quietly { GazetteRunner.run_json(%w[echo {]) }

    expect(stats.counts).to include(ok: 3, exit_error: 2, timeout: 1, spawn_error: 1, invalid_json: 1, circuit_open: 0)
    expect(stats.counts.keys).to eq(GazetteRunner::Event::OUTCOMES)
    expect(stats.count).to eq(8)
    p50, p95, p99 = stats.percentiles.values_at(:p50, :p95, :p99)
    expect(p50).to be <= p95
    expect(p95).to be <= p99
    expect(p50).to be < 0.3 # most runs were instant
    expect(p99).to be >= 0.3 # the timeout took its bound
    expect(stats.total.durations.count).to eq(7) # the spawn error started nothing
  end

  it "resets" do
    GazetteRunner.run(%w[true])
    expect(stats.reset).to equal(stats)
    expect(stats.count).to eq(0)
    expect(stats.percentiles).to eq(p50: nil, p95: nil, p99: nil)
  end

  it "keeps 5-minute windows aligned on the wall clock, so processes' windows line up" do
    GazetteRunner.run(%w[true])
    window = stats.windows.last
    expect(window.started_at % 300).to eq(0)
    expect(window.seconds).to eq(300)
    expect(Time.now.to_i - window.started_at).to be_between(0, 300)
    expect(window.counts[:ok]).to eq(1)
  end

  it "rotates windows and keeps the last hour" do
    now = 1_000_200
    stats = GazetteRunner::Stats.new(clock: -> { now })
    stats.record(:ok, 0.1)
    now += 300
    stats.record(:exit_error, 0.2)
    expect(stats.windows.map { |w| [w.started_at, w.count] }).to eq([[1_000_200, 1], [1_000_500, 1]])
    now += 3600
    stats.record(:ok, 0.3)
    expect(stats.windows.map(&:started_at)).to eq([1_004_100])
    expect(stats.count).to eq(3) # the total outlives the windows
  end

  it "serialises to JSON and merges dumps from several processes" do
    GazetteRunner.run(%w[true])
    GazetteRunner.run(%w[false])
    mine = JSON.parse(JSON.generate(stats.to_h))
    status, out, err = run_ruby_child(<<~RUBY)
      require "gazette_runner"
      require "json"
      4.times { GazetteRunner.run(["true"]) }
      print JSON.generate(GazetteRunner.stats.to_h)
    RUBY
    expect([status.success?, err]).to eq([true, ""])
    theirs = JSON.parse(out)

    merged = GazetteRunner::Stats.merge(mine, theirs)
    total = GazetteRunner::Stats::Window.from_h(merged["total"])
    expect(total.counts).to include(ok: 5, exit_error: 1)
    expect(total.durations.count).to eq(6)
    expect(total.percentiles[:p50]).to be_a(Float)
    expect(merged["pids"]).to contain_exactly(Process.pid, theirs["pids"].first)
    # Both processes ran within the same few seconds; at most a window boundary apart.
    expect(merged["windows"].sum { |w| w["counts"].values.sum }).to eq(6)
    expect(merged["windows"].size).to be <= 2
    # A merge has the dump's shape, so it merges again.
    expect(GazetteRunner::Stats.merge(merged, mine)["total"]["counts"]["ok"]).to eq(6)
  end

  it "gives percentiles within the histogram's resolution, also after a merge" do
    first = GazetteRunner::Histogram.new
    second = GazetteRunner::Histogram.new
    (1..1000).each { |ms| (ms.odd? ? first : second).record(ms / 1000.0) }
    merged = first.merge(second)
    expect(merged.count).to eq(1000)
    { 0.5 => 0.5, 0.95 => 0.95, 0.99 => 0.99 }.each do |quantile, exact|
      expect(merged.percentile(quantile)).to be_within(exact * 0.06).of(exact)
    end
    expect(merged.max).to eq(1.0)
    expect(GazetteRunner::Histogram.from_h(JSON.parse(JSON.generate(merged.to_h))).percentiles)
      .to eq(merged.percentiles)
  end

  it "refuses histograms built with other bucket edges" do
    foreign = GazetteRunner::Histogram.new.to_h.merge("growth" => 2.0)
    expect { GazetteRunner::Histogram.from_h(foreign) }.to raise_error(ArgumentError, /edges/)
  end

  it "is safe from many threads at once" do
    threads = Array.new(16) { Thread.new { 5.times { GazetteRunner.run(%w[true]) } } }
    threads.each { |t| expect(t.join(30)).to equal(t) }
    expect(stats.counts[:ok]).to eq(80)
    expect(stats.total.durations.count).to eq(80)
  end

  it "starts from zero in a forked child" do
    status, out, err = run_ruby_child(<<~RUBY)
      require "gazette_runner"
      3.times { GazetteRunner.run(["true"]) }
      pid = fork do
        GazetteRunner.run(["true"])
        print GazetteRunner.stats.count
      end
      Process.wait(pid)
    RUBY
    expect([status.success?, err]).to eq([true, ""])
    expect(out).to eq("1")
  end

  describe "plain runs (no option, nothing listening), which the extension records itself" do
    before { expect_plain_runs }

    it "counts each once, handing them over before a few hundred gather" do
      600.times { GazetteRunner.run(%w[true]) }
      pending = GazetteRunner::Native.take_records # what no read of the stats has taken yet
      expect(pending.size).to eq(600 % 256) # handed over before the 257th and the 513th run
      expect(pending).to all(match([:natural, true, a_kind_of(Float), a_kind_of(Integer)]))
      expect(stats.counts[:ok] + pending.size).to eq(600)
      expect(stats.total.durations.count + pending.size).to eq(600)
    end

    # Records are handed to the stats before a plain run starts, never after
    # one ended: an exception there (an interrupt arriving) would replace
    # the run's result. Here it only keeps that run from starting.
    it "loses no record when handing them over raises, and starts nothing then" do
      handovers = 0
      allow(GazetteRunner::Stats).to receive(:drain_native).and_wrap_original do |original|
        handovers += 1
        raise IOError, "an interrupt arrived" if handovers == 1

        original.call
      end
      failures = Array.new(300) do
        GazetteRunner.run(%w[true])
        nil
      rescue IOError
        :failed
      end
      expect(failures.compact).to eq([:failed])
      expect(handovers).to be >= 2
      expect(stats.counts.reject { |_, n| n.zero? }).to eq(ok: 299)
    end

    it "counts an exit, a timeout, a spawn error and an interruption as the full path does" do
      GazetteRunner.run(%w[false])
      GazetteRunner.default_timeout = 0.3
      expect { GazetteRunner.run(%w[sleep 10]) }
        .to raise_error(GazetteRunner::TimeoutError, /sleep timed out after 0.3 s/)
      GazetteRunner.default_timeout = GazetteRunner::DEFAULT_TIMEOUT
      expect { GazetteRunner.run(["/nonexistent/gazette-program"]) }.to raise_error(GazetteRunner::SpawnError)
      thread = Thread.new do
        Thread.current.report_on_exception = false
        GazetteRunner.run(%w[sleep 600]) # outlives any wait for it
      end
      child = eventually(within: 10) { GazetteRunner.running.find { |c| c.thread == thread } }
      expect(child).to have_attributes(argv: %w[sleep 600], bound: 60.0)
      thread.raise(IOError, "stop")
      expect { thread.join(10) }.to raise_error(IOError, "stop")
      expect(alive?(child.pid)).to be(false)
      expect(GazetteRunner.running.map(&:thread)).not_to include(thread)
      expect(stats.counts).to include(exit_error: 1, timeout: 1, spawn_error: 1, interrupted: 1)
      expect(stats.total.durations.count).to eq(3) # the spawn error started nothing
    ensure
      GazetteRunner.default_timeout = GazetteRunner::DEFAULT_TIMEOUT
    end
  end

  describe "the registry of running children" do
    it "lists each running program with its pid, argv, start, bound and latest progress" do
      Dir.mktmpdir("gazette-running") do |dir|
        go = File.join(dir, "go")
        argv = sh("echo 'PROGRESS 40 reading page 2' >&2; while [ ! -e #{go} ]; do sleep 0.01; done")
        started = Time.now
        thread = Thread.new { GazetteRunner.run(argv, timeout: 20) }
        child = eventually(within: 10) { GazetteRunner.running.find { |c| c.thread == thread && c.progress } }
        progress = GazetteRunner::Progress.new(percent: 40, message: "reading page 2")
        expect(child).to have_attributes(argv:, bound: 20.0, progress:)
        expect(child.started_at).to be_between(started - 1, Time.now)
        expect(alive?(child.pid)).to be(true)
        expect(child).to be_frozen
        File.write(go, "")
        expect(thread.join(10).value.pid).to eq(child.pid)
        expect(GazetteRunner.running.map(&:thread)).not_to include(thread)
      end
    end

    it "lists none of a parent's programs in a forked child" do
      status, out, err = run_ruby_child(<<~RUBY)
        require "gazette_runner"
        parent = Thread.new { GazetteRunner.run(%w[sleep 5], timeout: 10) }
        sleep 0.01 until GazetteRunner.running.any?
        pid = fork do
          seen = GazetteRunner.running.size
          child = Thread.new { GazetteRunner.run(%w[sleep 1]) }
          sleep 0.01 until GazetteRunner.running.any?
          print [seen, GazetteRunner.running.map(&:argv)].inspect
          child.join
        end
        Process.wait(pid)
        print " ", GazetteRunner.running.map(&:argv).inspect
        Process.kill(:TERM, GazetteRunner.running.first.pid)
        parent.join
      RUBY
      expect([status.success?, err]).to eq([true, ""])
      expect(out).to eq('[0, [["sleep", "1"]]] [["sleep", "5"]]')
    end
  end
end
