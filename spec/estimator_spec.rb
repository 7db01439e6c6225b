# frozen_string_literal: true

require "json"

# Learned bounds: cold start, learning the shape, censoring (hangs against
# too tight a bound), merging, the clamps, the wrapper and its alert on real
# processes, and hostile input. The fleet's Redis part is in
# estimator_fleet_spec.rb.
RSpec.describe GazetteRunner::Estimator do
  # Durations of a script with a start-up cost: 5 s + 0.2 s per page, lognormal noise (sigma 0.2).
  def median(pages) = 5 + (0.2 * pages)

  def noisy(random, pages) = median(pages) * Math.exp(0.2 * gaussian(random))

  def gaussian(random) = Math.sqrt(-2 * Math.log(1 - random.rand)) * Math.cos(2 * Math::PI * random.rand)

  def pages(random) = Math.exp(random.rand * Math.log(500)).round

  # Replays runs as a job would: bound, then a finished or censored observation.
  def replay(estimator, runs, seed: 1, slower: 1.0, hangs: 0.0)
    random = Random.new(seed)
    killed = 0
    runs.times do
      size = pages(random)
      duration = noisy(random, size) * slower
      bound = estimator.bound(size:)
      hung = random.rand < hangs
      killed += 1 if !hung && duration > bound
      ended = hung || duration > bound
      estimator.observe(size:, duration: ended ? bound : duration, censored: ended)
    end
    killed
  end

  let(:estimator) { described_class.new("slicer", fallback: 900, min_runs: 20) }

  # Queue#pop has no timeout on Ruby 3.1: poll, within a bound.
  def next_alert(queue, within)
    eventually(within:) { !queue.empty? } ? queue.pop : nil
  end

  describe "cold start" do
    it "answers the fallback until min_runs runs have finished, then a learned bound" do
      19.times { |i| estimator.observe(size: 100, duration: 25 + (i * 0.1)) }
      expect(estimator.bound(size: 100)).to eq(900.0)
      expect(estimator).not_to be_learned
      prediction = estimator.predict(size: 100)
      expect([prediction.p50, prediction.p90, prediction.p99]).to all(be_nil)
      expect(prediction).to be_frozen.and(have_attributes(bound: 900.0, learned?: false))

      estimator.observe(size: 100, duration: 26)
      expect(estimator).to be_learned
      expect(estimator.bound(size: 100)).to be_between(27, 100)
      expect(estimator.predict(size: 100).p50).to be_within(1.5).of(26)
    end

    it "keeps runs ended at the fallback aside, and doubles a fallback that ends most of them" do
      small = described_class.new("s", fallback: 10, min_runs: 5)
      2.times { small.observe(size: 1, duration: 10, censored: true) }
      expect(small.bound(size: 1)).to eq(10.0) # two hangs in a cold start are no evidence
      small.observe(size: 1, duration: 10, censored: true)
      expect(small.bound(size: 1)).to eq(20.0)
      small.observe(size: 1, duration: 20, censored: true)
      expect(small.bound(size: 1)).to eq(40.0)
      expect(small.runs).to eq(0)
    end
  end

  describe "learning" do
    it "learns a start-up cost and growth with size, and bounds above the true 99.9 % quantile" do
      killed = replay(estimator, 3000)
      expect(killed).to be <= 3
      [1, 10, 100, 400].each do |size|
        prediction = estimator.predict(size:)
        expect(prediction.p50).to be_within(median(size) * 0.12).of(median(size))
        true_q999 = median(size) * Math.exp(0.2 * 3.09)
        expect(prediction.bound).to be_between(true_q999, true_q999 * 1.6)
        expect(prediction.p50).to be < prediction.p90
        expect(prediction.p90).to be < prediction.p99
        expect(prediction.p99).to be < prediction.bound
      end
    end

    it "extrapolates above the largest size seen at least linearly" do
      replay(estimator, 1000)
      expect(estimator.predict(size: 5000).p50).to be >= estimator.predict(size: 500).p50 * 9
    end

    it "holds a script's two speeds in the tail" do
      random = Random.new(3)
      2000.times do
        slow = random.rand < 0.2
        estimator.observe(size: 50, duration: 10 * (slow ? 6 : 1) * Math.exp(0.1 * gaussian(random)))
      end
      prediction = estimator.predict(size: 50)
      expect(prediction.p50).to be_within(2).of(10)
      expect(prediction.p99).to be > 60
      expect(prediction.bound).to be > 60 * Math.exp(0.1 * 3.09)
    end
  end

  describe "censored runs" do
    before { replay(estimator, 2000) }

    it "takes runs ended at a bound above the learned tail as hangs: counted, not learned" do
      bound = estimator.bound(size: 100)
      runs = estimator.runs
      2.times { estimator.observe(size: 100, duration: estimator.bound(size: 100), censored: true) }
      expect(estimator.hangs).to eq(2)
      expect(estimator.runs).to eq(runs)
      expect(estimator.bound(size: 100)).to eq(bound)

      replay(estimator, 2000, seed: 4, hangs: 0.02) # 2 % hangs, scattered
      expect(estimator.hangs).to be_between(30, 50)
      expect(estimator.bound(size: 100)).to be_within(bound * 0.1).of(bound)
      expect(estimator.hang_rate).to be_between(0.005, 0.06)
    end

    it "takes runs ended at their bound in a cluster as too tight a bound, and raises it" do
      bound = estimator.bound(size: 100)
      8.times { estimator.observe(size: 100, duration: estimator.bound(size: 100), censored: true) }
      expect(estimator.hangs).to eq(2)
      expect(estimator.state.tight).to eq(6)
      expect(estimator.bound(size: 100)).to be > bound * 1.3
    end

    it "learns from runs ended at too tight a bound, and follows a slowdown within a few runs" do
      killed = replay(estimator, 500, seed: 2, slower: 2.0, hangs: 0.005)
      expect(killed).to be <= 5
      expect(estimator.state.tight).to eq(killed)
      expect(estimator.predict(size: 100).p50).to be_within(median(100) * 0.25).of(median(100) * 2)
      expect(replay(estimator, 2000, seed: 3, slower: 2.0)).to be <= 3
    end

    it "learns a deadline's shorter bound as a lower bound, not as a hang" do
      p50 = estimator.predict(size: 100).p50
      estimator.observe(size: 100, duration: p50 * 1.5, censored: true)
      expect(estimator.hangs).to eq(0)
      expect(estimator.state.tight).to eq(1)
    end
  end

  describe "bounds" do
    it "clamps learned bounds to [min, max]" do
      clamped = described_class.new("c", min: 30, max: 60, min_runs: 1)
      clamped.observe(size: 1, duration: 1)
      expect(clamped.bound(size: 1)).to eq(30.0)
      20.times { clamped.observe(size: 1000, duration: 500) }
      expect(clamped.bound(size: 1000)).to eq(60.0)
    end

    it "gives chunk sizes whose predicted p90 is near a target" do
      replay(estimator, 3000)
      pages = estimator.size_for(duration: 60)
      expect(estimator.predict(size: pages).p90).to be <= 60
      expect(estimator.predict(size: pages + 3).p90).to be > 60
      expect(estimator.size_for(duration: 1)).to eq(1) # even one page is slower
      expect(described_class.new("new").size_for(duration: 60)).to be_nil
    end

    it "costs well under 50 µs of CPU per run (bound plus observe)" do
      replay(estimator, 2000)
      cpu = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID)
      replay(estimator, 2000, seed: 9)
      per_run = (Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID) - cpu) / 2000
      expect(per_run).to be < 5.0e-5
    end

    it "keeps a state of bounded size whatever it sees" do
      sizes = Random.new(5)
      2000.times { estimator.observe(size: sizes.rand(1.0e12), duration: sizes.rand(1.0e5)) }
      expect(JSON.generate(estimator.to_h).bytesize).to be < 16_000
    end
  end

  describe "merging" do
    it "merges dumps (through JSON) into what one estimator seeing all runs would predict" do
      first = described_class.new("slicer")
      second = described_class.new("slicer")
      replay(first, 1500, seed: 1)
      replay(second, 1500, seed: 2)
      dump = JSON.parse(JSON.generate(described_class.merge(first.to_h, second.to_h)))
      merged = described_class.new("slicer").merge!(dump)
      expect(merged.runs).to eq(first.runs + second.runs)
      [5, 50, 300].each do |size|
        expect(merged.predict(size:).p50).to be_within(median(size) * 0.12).of(median(size))
      end
    end

    it "refuses dumps of other names or settings, and malformed ones" do
      expect { described_class.merge }.to raise_error(ArgumentError, /nothing to merge/)
      expect { described_class.merge(estimator.to_h, described_class.new("other").to_h) }
        .to raise_error(ArgumentError, /different names/)
      expect { estimator.merge!(described_class.new("slicer", half_life: 50).to_h) }
        .to raise_error(ArgumentError, /different decay/)
      dump = estimator.to_h
      dump["state"]["level"] = Float::NAN
      expect { estimator.merge!(dump) }.to raise_error(ArgumentError, /non-finite/)
      dump = estimator.to_h
      dump["state"]["residuals"] = [[10_000, 1.0]]
      expect { estimator.merge!(dump) }.to raise_error(ArgumentError, /out of range/)
      expect { estimator.merge!(estimator.to_h.merge("state" => { "version" => 2 })) }
        .to raise_error(ArgumentError, /version/)
      dump = estimator.to_h
      dump["state"].delete("line")
      expect { estimator.merge!(dump) }.to raise_error(ArgumentError, /malformed/)
      dump = estimator.to_h
      dump["state"]["decay"] = 1.5
      expect { estimator.merge!(dump) }.to raise_error(ArgumentError, /rate/)
      dump = estimator.to_h
      dump["state"]["sizes"] = [[1, "x", 0, 0]]
      expect { estimator.merge!(dump) }.to raise_error(ArgumentError)
    end
  end

  describe "hostile input" do
    [Float::NAN, -1, -0.5, Float::INFINITY, -Float::INFINITY, 1.0e300, 10**20, "10", nil, Complex(1, 1)].each do |bad|
      it "refuses the size #{bad.inspect}" do
        expect { estimator.observe(size: bad, duration: 1) }.to raise_error(ArgumentError, /size/)
        expect { estimator.bound(size: bad) }.to raise_error(ArgumentError, /size/)
        expect { estimator.predict(size: bad) }.to raise_error(ArgumentError, /size/)
        expect { estimator.run(size: bad) { 1 } }.to raise_error(ArgumentError, /size/)
      end
    end

    [Float::NAN, -1, Float::INFINITY, 1.0e9, "1", nil].each do |bad|
      it "refuses the duration #{bad.inspect}" do
        expect { estimator.observe(size: 1, duration: bad) }.to raise_error(ArgumentError, /duration/)
        expect { estimator.size_for(duration: bad) }.to raise_error(ArgumentError, /duration/)
      end
    end

    it "refuses bad options, names and flags" do
      expect { estimator.observe(size: 1, duration: 1, censored: "yes") }.to raise_error(ArgumentError, /censored/)
      expect { described_class.new("has space") }.to raise_error(ArgumentError, /name/)
      expect { described_class.new("") }.to raise_error(ArgumentError, /name/)
      expect { described_class.new("x", quantile: 1) }.to raise_error(ArgumentError, /quantile/)
      expect { described_class.new("x", quantile: Float::NAN) }.to raise_error(ArgumentError, /quantile/)
      expect { described_class.new("x", margin: 0.5) }.to raise_error(ArgumentError, /margin/)
      expect { described_class.new("x", min: 10, max: 5) }.to raise_error(ArgumentError, /max/)
      expect { described_class.new("x", fallback: Float::INFINITY) }.to raise_error(ArgumentError, /fallback/)
      expect { described_class.new("x", min_runs: 0) }.to raise_error(ArgumentError, /min_runs/)
      expect { described_class.new("x", level_rate: 1) }.to raise_error(ArgumentError, /level_rate/)
      expect { described_class.new("x", tail_half_life: 5) }.to raise_error(ArgumentError, /tail_half_life/)
      expect { described_class.new("x", speed: 1) }.to raise_error(ArgumentError, /unknown/)
      expect { estimator.size_for(duration: 1, quantile: 1.5) }.to raise_error(ArgumentError, /quantile/)
      expect { estimator.run(size: 1) }.to raise_error(ArgumentError, /block/)
    end

    it "checks the estimator: and size: options of run" do
      expect(described_class.option(nil, nil)).to eq([nil, nil])
      expect(described_class.option(estimator, 3)).to eq([estimator, 3])
      expect { described_class.option(nil, 3) }.to raise_error(ArgumentError, /estimator must be/)
      expect { described_class.option("slicer", 3) }.to raise_error(ArgumentError, /estimator must be/)
      expect { described_class.option(estimator, nil) }.to raise_error(ArgumentError, /size/)
      expect { described_class.option(estimator, -1) }.to raise_error(ArgumentError, /size/)
    end

    it "accepts the extremes of the ranges" do
      estimator.observe(size: 0, duration: 0)
      estimator.observe(size: described_class::MAX_SIZE, duration: described_class::MAX_DURATION)
      25.times { |i| estimator.observe(size: i, duration: i + 1) }
      expect(estimator.bound(size: described_class::MAX_SIZE)).to be_between(1.0, 86_400.0)
      expect(estimator.bound(size: 0)).to be_finite
    end
  end

  describe "#run and the slower_than_learned alert, on real processes" do
    let(:taught) do
      described_class.new("sleeper", min: 2, min_runs: 20).tap do |est|
        20.times { est.observe(size: 1, duration: 0.2) }
      end
    end

    it "learns from finished runs, and ends a hung one at the learned bound, as a probable hang" do
      runs = taught.runs
      result = taught.run(size: 1) { |bound| GazetteRunner.run(["sleep", "0.1"], timeout: bound) }
      expect(result).to be_success
      expect(taught.runs).to eq(runs + 1)

      took = elapsed do
        expect { taught.run(size: 1) { |bound| GazetteRunner.run(%w[sleep 30], timeout: bound, kill_after: 0.5) } }
          .to raise_error(GazetteRunner::TimeoutError)
      end
      expect(took).to be_between(2.0, time_bound(4.0))
      expect(taught.hangs).to eq(1)
      expect(taught.runs).to eq(runs + 1)
    end

    it "does not learn from a failed run" do
      runs = taught.runs
      result = taught.run(size: 1) { |bound| GazetteRunner.run(["sh", "-c", "exit 3"], timeout: bound) }
      expect(result).not_to be_success
      expect(taught.runs).to eq(runs)
    end

    it "fires when a run passes its predicted p99, and clears when it ends" do
      alerts = Queue.new
      handler = GazetteRunner.on_alert { |alert| alerts << alert }
      p99 = taught.predict(size: 1).p99
      taught.run(size: 1) { |bound| GazetteRunner.run(%w[sleep 1], timeout: bound) }
      firing = next_alert(alerts, time_bound(2))
      cleared = next_alert(alerts, time_bound(2))
      expect(firing).to have_attributes(name: :slower_than_learned, state: :firing, threshold: p99.round(3))
      expect(firing.value).to be_between(p99, 1.0)
      expect(firing.detail).to include("sleeper")
      expect(cleared).to have_attributes(name: :slower_than_learned, state: :cleared)
      expect(cleared.value).to be >= 1.0
      expect(GazetteRunner::Estimator::Watch.count).to eq(0)
    ensure
      GazetteRunner.off_alert(handler)
    end

    it "watches a run started by hand, as the estimator: option does" do
      alerts = Queue.new
      handler = GazetteRunner.on_alert { |alert| alerts << alert }
      expect(described_class.new("new").watch(size: 1)).to be_nil # nothing learned, no p99
      watch = taught.watch(size: 1)
      GazetteRunner.run(["sleep", "0.6"], timeout: 5)
      expect(next_alert(alerts, time_bound(1))).to have_attributes(state: :firing)
      expect(watch).to be_fired
      watch.finish
      expect(alerts.pop).to have_attributes(state: :cleared)
    ensure
      GazetteRunner.off_alert(handler)
    end

    it "says nothing about a run within its p99" do
      alerts = Queue.new
      handler = GazetteRunner.on_alert { |alert| alerts << alert }
      taught.run(size: 1) { |bound| GazetteRunner.run(["true"], timeout: bound) }
      sleep 0.5 # the watcher had time to fire, had the run been due
      expect(alerts).to be_empty
    ensure
      GazetteRunner.off_alert(handler)
    end

    it "learns from an attempt's event (what the estimator: option calls)" do
      taught = described_class.new("slow", min_runs: 20)
      20.times { taught.observe(size: 1, duration: 1.0) }
      events = []
      subscription = GazetteRunner.subscribe { |event| events << event }
      GazetteRunner.run(["sleep", "0.1"], timeout: 5)
      expect do
        GazetteRunner.run(%w[sleep 5], timeout: 0.2, kill_after: 0.1)
      end.to raise_error(GazetteRunner::TimeoutError)
      runs = taught.runs
      events.each { |event| taught.record(event, size: 1) }
      expect(taught.runs).to eq(runs + 2) # the timeout, at 0.2 s, was below the learned tail: too tight
      expect(taught.state.tight).to eq(1)
    ensure
      GazetteRunner.unsubscribe(subscription)
    end
  end
end
