# frozen_string_literal: true

require_relative "estimator/state"
require_relative "estimator/prediction"
require_relative "estimator/watch"

module GazetteRunner
  # Learns how long a program takes for an input of a given size, and bounds
  # each run by that instead of one fixed timeout: a hung 10-page gazette ends
  # in seconds, a healthy 600-page one is not killed.
  #
  #   SLICER = GazetteRunner::Estimator.new("slicer", fallback: 900, max: 3600)
  #   SLICER.run(size: pages) { |bound| GazetteRunner.slice_gazette(argv, output_dir:, timeout: bound) }
  #   SLICER.predict(size: 40) # => #<Prediction size=40 p50=12.1 p90=15.3 p99=19.8 bound=31.2>
  #
  # or by hand: `bound(size:)` before a run, `observe(size:, duration:)` after
  # one that finished, `observe(size:, duration: bound, censored: true)` after
  # one that was ended at its bound.
  #
  # Until {#min_runs} runs have finished the bound is the fixed `fallback`.
  # Then it is the learned `quantile` (0.999) of the duration at that size,
  # times `margin`, within `[min, max]`. The model, its evidence and costs are
  # described in docs/estimator.md: a curve of log duration against log size
  # (any growth shape, a start-up cost included), a fast level that follows a
  # slowdown within a few runs, and a histogram of residuals that holds two
  # speeds and heavy tails as they are; O(1) per run, a few kB of state.
  #
  # Runs ended at their bound are censored: the duration is only a lower bound.
  # One ended at a bound below what the model now holds as the tail (a bound
  # set before a slowdown was noticed, a deadline's shorter budget) says the
  # bound was too tight: it is learned, as lower bound. One ended at a bound
  # at or above the learned tail is a probable hang: a healthy run gets there
  # less than once in a thousand, and the runs that come close do finish and
  # teach the tail directly; it only moves {#hang_rate}. Before anything is
  # learned, runs ended at the fallback are kept aside; when they outnumber
  # the finished ones, the fallback is too tight and doubles for each extra one.
  #
  # Thread-safe. Share it between processes with
  # `GazetteRunner::Fleet::EstimatorSync` (require "gazette_runner/fleet").
  class Estimator # rubocop:disable Metrics/ClassLength -- the public surface of one idea
    # The default of each option.
    DEFAULTS = {
      quantile: 0.999, margin: 1.2, min: 1.0, max: 86_400.0, fallback: 900.0, min_runs: 20,
      half_life: 500, tail_half_life: 4000, level_rate: 0.1
    }.freeze
    # The largest size accepted (pages, bytes, rows, ...).
    MAX_SIZE = 1.0e15
    # The longest duration accepted, in seconds: the histograms' range, ten days.
    MAX_DURATION = 864_000.0
    # Names become Redis keys.
    NAME = /\A[\w.:-]{1,100}\z/
    # The moving share of hangs weighs the last ~200 runs.
    HANG_RATE_RATE = 1.0 / 200
    # A censored run is learned one histogram bucket above its bound: it ran at least that long.
    CENSORED_STEP = Math.log(Histogram::GROWTH)
    # Quantiles {#predict} reports.
    REPORTED = { p50: 0.5, p90: 0.9, p99: 0.99 }.freeze
    # Runs kept for {#report}.
    RECENT = 20
    # The share of recent runs ended at their bound above which they are
    # taken as too tight a bound, not as hangs.
    CLUSTER = 0.25
    # How much a thin histogram's tail is widened (see #tail).
    SMALL_SAMPLE = 5.0
    private_constant :HANG_RATE_RATE, :CENSORED_STEP, :REPORTED, :SMALL_SAMPLE, :CLUSTER, :RECENT

    # @return [String]
    attr_reader :name
    # @return [Float] the quantile of durations that bounds are made of
    attr_reader :quantile
    # @return [Float] the factor the quantile is multiplied by
    attr_reader :margin
    # @return [Float] seconds; no bound is shorter
    attr_reader :min
    # @return [Float] seconds; no bound is longer
    attr_reader :max
    # @return [Float] seconds; the bound until {#min_runs} runs have finished
    attr_reader :fallback
    # @return [Integer] finished runs needed before bounds are learned ones
    attr_reader :min_runs

    # @param name [String, Symbol] what is estimated (letters, digits, `_ . : -`); the fleet's key
    # @param options [Hash] any of {DEFAULTS}' keys:
    #   quantile (in 0.5...1), margin (>= 1), min, max, fallback (seconds > 0),
    #   min_runs (Integer >= 1), half_life (runs after which a run weighs half in the
    #   curve, >= 10), tail_half_life (the same in the residuals' histogram),
    #   level_rate (in 0...1, how fast the level follows a slowdown)
    # @raise [ArgumentError] a bad name, an unknown option or a value out of range
    def initialize(name, **options)
      @name = name.to_s.dup.freeze
      raise ArgumentError, "estimator name must match #{NAME.inspect}, got #{name.inspect}" unless NAME.match?(@name)

      configure(options)
      @state = new_state
      @delta = nil
      @recent = []
      @lock = Mutex.new
    end

    # Learns from one run.
    # @param size [Numeric] the input's size, finite, 0..{MAX_SIZE}
    # @param duration [Numeric] seconds it took (or, censored, ran before it was ended), 0..{MAX_DURATION}
    # @param censored [Boolean] true when the run was ended at its bound
    # @return [self]
    # @raise [ArgumentError] a size or duration that is not a finite number in range
    def observe(size:, duration:, censored: false)
      log_size = Estimator.log_size(size)
      log_duration = Math.log(checked(duration, "duration", MAX_DURATION).clamp(Histogram::MIN, MAX_DURATION))
      unless censored.equal?(true) || censored.equal?(false)
        raise ArgumentError, "censored must be true or false, got #{censored.inspect}"
      end

      @lock.synchronize do
        kind, residual = censored ? ended(log_size, log_duration) : [:ok, learn(log_size, log_duration)]
        remember(size, log_duration, kind, residual)
      end
      self
    end

    # @param size [Numeric]
    # @return [Float] seconds to give a run of that size (`timeout:`)
    # @raise [ArgumentError] a bad size
    def bound(size:)
      log_size = Estimator.log_size(size)
      @lock.synchronize { bound_at(log_size) }
    end

    # @param size [Numeric]
    # @return [Prediction]
    # @raise [ArgumentError] a bad size
    def predict(size:)
      log_size = Estimator.log_size(size)
      @lock.synchronize do
        bound = bound_at(log_size)
        next Prediction.new(size:, p50: nil, p90: nil, p99: nil, bound:) unless learned_now?

        location = @state.location(log_size)
        percentiles = REPORTED.transform_values { |q| seconds(location + @state.residual_quantile(q)) }
        Prediction.new(size:, bound:, **percentiles)
      end
    end

    # The largest size whose predicted `quantile` of duration is at most
    # `duration`: how many pages to put in a chunk for chunks of about that length.
    # @param duration [Numeric] seconds > 0
    # @param quantile [Float] in (0, 1)
    # @return [Integer, nil] >= 1 (1 when even one is slower); nil before anything is learned
    # @raise [ArgumentError] bad arguments
    def size_for(duration:, quantile: 0.9)
      target = Math.log(checked(duration, "duration", MAX_DURATION))
      quantile = Options.number(quantile, "size_for's quantile")

      @lock.synchronize do
        next nil unless learned_now?

        offset = @state.residual_quantile(quantile)
        largest_size { |log_size| @state.location(log_size) + offset <= target }
      end
    end

    # Runs the block with the bound for `size`, and learns from how it ended:
    # a value (not a failed {Result}) is a finished run, a {TimeoutError} a
    # censored one; other errors teach nothing (a crash says nothing about
    # how long the work takes). While the block runs, the `slower_than_learned`
    # alert fires if it passes the predicted p99 (see {Watch}).
    #
    #   estimator.run(size: pages) { |bound| GazetteRunner.run(argv, timeout: bound) }
    #
    # @param size [Numeric]
    # @yieldparam bound [Float] seconds
    # @return [Object] the block's value
    # @raise [ArgumentError] a bad size, or no block
    # (A named block: Ruby 3.1.2 refuses an anonymous one after keywords.)
    def run(size:, &block)
      raise ArgumentError, "Estimator#run needs a block" unless block

      prediction = predict(size:)
      watch = Watch.start(self, prediction)
      timed(size, prediction.bound, &block)
    ensure
      watch&.finish
    end

    # Watches a run of that size starting now, for the `slower_than_learned`
    # alert ({#run} does it itself); call {Watch#finish} when it ends.
    # @param size [Numeric]
    # @return [Watch, nil] nil while nothing is learned (there is no p99 yet)
    # @raise [ArgumentError] a bad size
    def watch(size:) = Watch.start(self, predict(size:))

    # Learns from an attempt's {Event}: one whose program exited 0 as a
    # finished run, one that timed out as censored; others teach nothing.
    # (What `run(argv, estimator:, size:)` calls when an attempt ends.)
    # @param event [Event]
    # @param size [Numeric]
    # @return [self]
    def record(event, size:)
      result = event.result
      return self unless result

      # Clamped: a report must not raise for a run longer than ten days.
      duration = result.duration.clamp(0.0, MAX_DURATION)
      if event.outcome == :timeout then observe(size:, duration:, censored: true)
      elsif result.success? then observe(size:, duration:)
      end
      self
    end

    # @return [Boolean] true once bounds are learned, not the fallback
    def learned? = @lock.synchronize { learned_now? }

    # @return [Integer] finished runs learned from (here and, when shared, in the fleet)
    def runs = @state.runs

    # @return [Integer] runs ended at their bound taken as probable hangs
    def hangs = @state.hangs

    # @return [Float] the share of recent runs (about 200) that were probable hangs
    def hang_rate = @state.hang_rate

    # @return [Hash{String=>Object}] JSON-ready: the name and the learned state
    def to_h = @lock.synchronize { { "name" => name, "state" => @state.to_h } }

    # Takes in what another estimator (another process, or a dump of this one)
    # learned, as if its runs came after this one's.
    # @param dump [Hash] a {#to_h} answer (parsed JSON is fine)
    # @return [self]
    # @raise [ArgumentError] a malformed dump or one with other settings
    def merge!(dump)
      other = State.from_h(dump.transform_keys(&:to_s).fetch("state"))
      @lock.synchronize { @state = @state.merge(other) }
      self
    end

    # Adds up dumps, each one's runs taken as coming after the previous one's.
    # @param dumps [Array<Hash>] {#to_h} answers, at least one, all of one name
    # @return [Hash{String=>Object}] of {#to_h}'s shape
    # @raise [ArgumentError] no dump, or dumps of different names or settings
    def self.merge(*dumps)
      raise ArgumentError, "nothing to merge" if dumps.empty?

      dumps = dumps.map { |dump| dump.transform_keys(&:to_s) }
      states = dumps.map { |dump| State.from_h(dump.fetch("state")) }
      { "name" => one_name(dumps), "state" => states.reduce(:merge).to_h }
    end

    # @api private
    # @param dumps [Array<Hash{String=>Object}>]
    # @return [String] their one name
    # @raise [ArgumentError] they have several
    def self.one_name(dumps)
      names = dumps.map { |dump| dump.fetch("name") }.uniq
      raise ArgumentError, "cannot merge estimators of different names: #{names.join(", ")}" if names.size > 1

      names.first
    end

    # What the dashboard shows of this process's estimator: what it learned,
    # predictions for a few sizes, the runs in flight with their ETA, and the
    # last runs, predicted against actual. JSON-ready.
    # @param sizes [Array<Numeric>] sizes to predict
    # @return [Hash{String=>Object}]
    def report(sizes: [1, 10, 100, 1000])
      { "name" => name, "runs" => runs, "hangs" => hangs, "hang_rate" => hang_rate.round(4), "learned" => learned?,
        "predictions" => sizes.map { |size| predict(size:).to_h.transform_keys(&:to_s) },
        "running" => Watch.running(self), "recent" => recent }
    end

    # @return [String]
    def inspect
      "#<#{self.class.name} #{name} runs=#{runs} hangs=#{hangs} #{learned? ? "learned" : "fallback"}>"
    end

    # @api private
    # @param size [Object]
    # @return [Float] ln(size + 1)
    # @raise [ArgumentError] not a finite number in 0..MAX_SIZE
    def self.log_size(size)
      unless size.is_a?(Numeric) && size.real? && size.to_f.finite? && size >= 0 && size <= MAX_SIZE
        raise ArgumentError, "size must be a finite number in 0..#{MAX_SIZE.to_i}, got #{size.inspect}"
      end

      Math.log(size.to_f + 1.0)
    end

    # Checks the `estimator:` and `size:` options of {GazetteRunner.run}.
    # @api private
    # @param estimator [Object] the option's value
    # @param size [Object] the option's value
    # @return [Array(Estimator, Numeric), Array(nil, nil)] both, or neither when neither was given
    # @raise [ArgumentError] one without the other, not an Estimator, or a bad size
    def self.option(estimator, size)
      return [nil, nil] if estimator.nil? && size.nil?
      raise ArgumentError, "estimator must be a GazetteRunner::Estimator, got #{estimator.inspect}" unless
        estimator.is_a?(Estimator)

      log_size(size)
      [estimator, size]
    end

    # Starts keeping the runs learned from now on, for a fleet to collect
    # (once; later calls change nothing).
    # @api private
    # @return [void]
    def keep_delta
      @lock.synchronize { @delta ||= new_state }
      nil
    end

    # @api private
    # @return [Array(State, State)] the runs learned since the last call (none
    #   the first time), and a copy of everything learned, at the same moment
    def take_delta
      @lock.synchronize do
        delta = @delta || new_state
        @delta = new_state
        [delta, State.from_h(@state.to_h)]
      end
    end

    # @api private
    # @param fleet [State] the fleet's state, taken delta included
    # @return [void]
    def adopt(fleet)
      @lock.synchronize { @state = fleet.merge(@delta || new_state) }
    end

    # A delta that could not be handed to the fleet, kept for the next try.
    # @api private
    # @param delta [State]
    # @return [void]
    def give_back(delta)
      @lock.synchronize { @delta = delta.merge(@delta || new_state) }
    end

    # @api private
    # @return [State] a copy of what this process knows
    def state = @lock.synchronize { State.from_h(@state.to_h) }

    private

    def configure(options) # rubocop:disable Metrics/AbcSize -- one line per option
      unknown = options.keys - DEFAULTS.keys
      raise ArgumentError, "unknown estimator options: #{unknown.join(", ")}" unless unknown.empty?

      options = DEFAULTS.merge(options)
      # Each through the gem's one range table (Options::RANGES).
      @quantile, @margin, @min, @max, @fallback, @min_runs, @half_life, @tail_half_life, @level_rate =
        %i[quantile margin min max fallback min_runs half_life tail_half_life level_rate].map do |key|
          Options.number(options[key], key.to_s)
        end
      raise ArgumentError, "max (#{@max}) must be >= min (#{@min})" if @max < @min
    end

    def new_state
      State.new(decay: 0.5**(1.0 / @half_life), tail_decay: 0.5**(1.0 / @tail_half_life), level_rate: @level_rate,
                hang_rate_rate: HANG_RATE_RATE)
    end

    def checked(value, name, limit) = Options.number(value, name).clamp(0.0, limit)

    def learned_now? = @state.runs >= @min_runs

    def bound_at(log_size)
      return cold_bound unless learned_now?

      (Math.exp(@state.location(log_size) + tail) * @margin).clamp(@min, @max)
    end

    # The quantile of residuals: the larger of the histogram's and of the one
    # extrapolated from its 99 % and 99.5 % (for 0.999), which rests on ten
    # times more runs and does not fall short of a heavy tail that the last few
    # thousand runs sampled thinly. Widened while the evidence is thin, by the
    # residuals' standard deviation times 5 over the square root of the runs
    # behind it (1.1 deviations after 20 runs, 0.04 after the ~11,500 that a
    # tail half-life of 4,000 keeps).
    def tail
      learned = [@state.tail(@quantile), @state.extrapolated_tail(@quantile)].max
      learned + (SMALL_SAMPLE * @state.deviation / Math.sqrt([@state.weight, 1.0].max))
    end

    # The fallback, doubled for each run ended at it beyond the finished ones
    # (at least 2 are forgiven: a hang or two in a cold start is no evidence).
    def cold_bound
      excess = @state.cold - [@state.runs, 2].max
      excess.positive? ? (@fallback * (2.0**[excess, 40].min)).clamp(@min, @max) : @fallback
    end

    # During the cold start a run's residual is taken after its point is
    # learned: before, the prediction is no prediction, and its error would
    # sit in the histogram's tail for thousands of runs.
    # @return [Float] the residual learned
    def learn(log_size, log_duration, ended: false)
      cold = !learned_now?
      each_state { |state| state.add_point(log_size, log_duration) } if cold
      raw = log_duration - @state.curve(log_size)
      residual = raw - @state.shift
      each_state do |state|
        state.add_residual(raw, residual)
        state.add_point(log_size, log_duration) unless cold
        state.tick(ended:)
      end
      residual
    end

    # A run ended at its bound: too tight a bound when the bound was below
    # the learned tail, or when runs end at their bounds in a cluster (a
    # slowdown so large that none finishes must still be learned); else a
    # probable hang.
    # @return [Array(Symbol, Float)] :cold, :tight or :hang, and the residual
    def ended(log_size, log_duration)
      residual = log_duration - @state.location(log_size)
      if !learned_now? then each_state(&:count_cold) && [:cold, nil]
      elsif residual < tail || clustered?
        each_state(&:count_tight)
        learn(log_size, log_duration + CENSORED_STEP, ended: true)
        [:tight, residual]
      else
        each_state(&:add_hang) && [:hang, residual]
      end
    end

    # The last runs, for the dashboard's predicted against actual.
    def remember(size, log_duration, kind, residual)
      @recent.shift if @recent.size >= RECENT
      @recent << [Process.clock_gettime(Process::CLOCK_REALTIME), size, Math.exp(log_duration), kind, residual]
    end

    # More than a quarter of the last ~10 runs, this one included, ended at
    # their bound: the third in a row, say. Hangs (0.5 % of runs, say) are
    # not that close together.
    def clustered? = @state.ended_rate + (State::ENDED_RATE * (1.0 - @state.ended_rate)) > CLUSTER

    def each_state(&) = [@state, @delta].compact.each(&)

    # The last runs with the median predicted for them (the residual's
    # distance from the current median residual).
    def recent
      @lock.synchronize do
        median = learned_now? ? @state.residual_quantile(0.5) : nil
        @recent.map do |at, size, duration, kind, residual|
          predicted = median && residual && (duration * Math.exp(median - residual))
          { "at" => at.round(3), "size" => size, "duration" => duration.round(3), "outcome" => kind.to_s,
            "predicted_p50" => predicted&.round(3) }
        end
      end
    end

    def timed(size, bound)
      started = Watch.now
      yield(bound).tap { |value| finished(size, value, Watch.now - started) }
    rescue TimeoutError => e
      observe(size:, duration: e.result.duration, censored: true) if e.result
      raise
    end

    def finished(size, value, duration)
      return if value.is_a?(Result) && !value.success?

      observe(size:, duration: [duration, MAX_DURATION].min)
    end

    def seconds(log) = Math.exp(log).clamp(0.0, MAX_DURATION)

    # Bisection on ln(size + 1) for the largest size where the block holds.
    def largest_size
      low = 0.0
      high = Math.log(MAX_SIZE + 1)
      return 1 unless yield(Math.log(2.0))
      return MAX_SIZE.to_i if yield(high)

      60.times do
        middle = (low + high) / 2
        yield(middle) ? low = middle : high = middle
      end
      [(Math.exp(low) - 1).floor, 1].max
    end
  end
end
