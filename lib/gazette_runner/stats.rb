# frozen_string_literal: true

module GazetteRunner
  # Process-wide counters of runs by outcome, and their durations, kept since
  # the process started (or {#reset}) and in 5-minute windows of the last hour.
  # Read it from a metrics endpoint; every read is a copy made under a lock
  # held for microseconds.
  #
  #   GazetteRunner.stats.counts      # => {ok: 120, exit_error: 2, timeout: 1, ...}
  #   GazetteRunner.stats.percentiles # => {p50: 0.8, p95: 4.1, p99: 9.7} (seconds)
  #
  # Durations are those of attempts that started a program (an open breaker or
  # an expired deadline is counted, but takes no time worth a percentile).
  # Windows start on multiples of 5 minutes of the wall clock, so windows from
  # several processes line up: {#to_h} is JSON-ready and {.merge} adds dumps
  # from a whole fleet together. A forked child starts from zero.
  class Stats
    # Seconds per window.
    WINDOW_SECONDS = 300
    # Windows kept: the last hour.
    WINDOWS_KEPT = 12
    # Thread.handle_interrupt's mask while plain runs' records are tallied.
    UNINTERRUPTED = { Object => :never }.freeze
    private_constant :UNINTERRUPTED
    # The default clock: Unix time in whole seconds, without allocating a Time.
    UNIX_TIME = -> { Process.clock_gettime(Process::CLOCK_REALTIME, :second) }

    # Counts and durations over a span of time; frozen, and mergeable with
    # windows of other spans and other processes.
    class Window
      # @return [Integer] Unix time of the window's start
      attr_reader :started_at
      # @return [Integer] its length in seconds
      attr_reader :seconds
      # @return [Hash{Symbol=>Integer}] runs by outcome, every outcome present
      attr_reader :counts
      # @return [Histogram] durations of the runs that started a program
      attr_reader :durations

      # @param started_at [Integer] Unix time
      # @param seconds [Integer]
      # @param counts [Hash{Symbol, String=>Integer}]
      # @param durations [Histogram]
      def initialize(started_at:, seconds:, counts:, durations:)
        @started_at = Integer(started_at)
        @seconds = Integer(seconds)
        @counts = Event::OUTCOMES.to_h { |outcome| [outcome, 0] }
                                 .merge(counts.to_h { |outcome, n| [outcome.to_sym, Integer(n)] }).freeze
        @durations = durations.frozen? ? durations : durations.snapshot
        freeze
      end

      # @return [Integer] Unix time of the window's end
      def ended_at = started_at + seconds

      # @return [Integer] runs of every outcome
      def count = counts.values.sum

      # @return [Hash{Symbol=>Float, nil}] `{p50:, p95:, p99:}` seconds (nil when no run)
      def percentiles = durations.percentiles

      # @param other [Window]
      # @return [Window] one covering both spans, with both counts and durations
      def merge(other)
        start = [started_at, other.started_at].min
        Window.new(started_at: start, seconds: [ended_at, other.ended_at].max - start,
                   counts: counts.merge(other.counts) { |_, a, b| a + b },
                   durations: durations.merge(other.durations))
      end

      # @return [Hash{String=>Object}] JSON-ready
      def to_h
        { "started_at" => started_at, "seconds" => seconds,
          "counts" => counts.transform_keys(&:to_s), "durations" => durations.to_h }
      end

      # @param hash [Hash] as {#to_h} returns it (String or Symbol keys)
      # @return [Window]
      def self.from_h(hash)
        hash = hash.transform_keys(&:to_s)
        new(started_at: hash.fetch("started_at"), seconds: hash.fetch("seconds"), counts: hash.fetch("counts"),
            durations: Histogram.from_h(hash.fetch("durations")))
      end
    end

    # @param window_seconds [Integer] length of a window
    # @param windows_kept [Integer] windows kept besides the running total
    # @param clock [#call] returns the Unix time as an Integer (injectable for tests)
    # @param plain_runs [Boolean] also count the plain runs the native extension
    #   records itself (see {.drain_native}); true for {GazetteRunner.stats} only
    def initialize(window_seconds: WINDOW_SECONDS, windows_kept: WINDOWS_KEPT, clock: UNIX_TIME, plain_runs: false)
      @window_seconds = window_seconds
      @windows_kept = windows_kept
      @clock = clock
      @plain_runs = plain_runs
      @lock = Mutex.new
      reset
    end

    # A plain run (`run(argv)` with no option while nothing listens: see
    # {GazetteRunner.run}) is recorded by the native extension, with no Ruby
    # call after the program's wait; {GazetteRunner.stats} takes those records
    # whenever it is read or recorded to, and when this is called: the
    # extension calls it before a plain run starts once 256 have gathered.
    # @api private
    # @return [void]
    def self.drain_native
      GazetteRunner.stats.__send__(:current) { nil }
    end

    # Forgets every count and duration.
    # @return [self]
    def reset
      @lock.synchronize do
        Native.take_records if @plain_runs
        clear
      end
      self
    end

    # @api private
    # @param outcome [Symbol]
    # @param duration [Float, nil] seconds, nil when no program was started
    # @return [void]
    def record(outcome, duration)
      now = @clock.call
      current do
        tally(@total, outcome, duration)
        tally(window_at(now), outcome, duration)
      end
    end

    # @return [Hash{Symbol=>Integer}] runs by outcome since the start (or {#reset})
    def counts = total.counts

    # @return [Integer] runs since the start (or {#reset})
    def count = total.count

    # @return [Hash{Symbol=>Float, nil}] `{p50:, p95:, p99:}` in seconds since the start (or {#reset})
    def percentiles = total.percentiles

    # @return [Window] everything since the start (or {#reset})
    def total
      now = @clock.call
      current { freeze_slot(@total, [now - @total[:started_at], 1].max) }
    end

    # @return [Array<Window>] the last hour in 5-minute windows that saw a run, oldest first
    def windows
      oldest = @clock.call - (@windows_kept * @window_seconds)
      current do
        @windows.values.select { |slot| slot[:started_at] > oldest }.map { |slot| freeze_slot(slot, @window_seconds) }
      end
    end

    # @return [Hash{String=>Object}] JSON-ready; feed dumps from several processes to {.merge}
    def to_h
      { "pids" => [Process.pid], "window_seconds" => @window_seconds,
        "total" => total.to_h, "windows" => windows.map(&:to_h) }
    end

    # Adds up dumps from several processes (or several moments): totals are
    # summed, windows that start at the same time are merged. The answer has
    # the shape of {#to_h}, so it can be merged again or stored.
    #
    #   merged = GazetteRunner::Stats.merge(*dumps)
    #   GazetteRunner::Stats::Window.from_h(merged["total"]).percentiles
    #
    # @param dumps [Array<Hash>] {#to_h} answers (parsed JSON is fine), at least one
    # @return [Hash{String=>Object}]
    # @raise [ArgumentError] no dump, or histograms built with other bucket edges
    def self.merge(*dumps)
      raise ArgumentError, "nothing to merge" if dumps.empty?

      dumps = dumps.map { |dump| dump.transform_keys(&:to_s) }
      { "pids" => dumps.flat_map { |dump| dump.fetch("pids") },
        "window_seconds" => dumps.first.fetch("window_seconds"),
        "total" => merge_all(dumps.map { |dump| dump.fetch("total") }),
        "windows" => merge_by_start(dumps.flat_map { |dump| dump.fetch("windows") }) }
    end

    # @api private
    # @param hashes [Array<Hash>] {Window#to_h} answers, at least one
    # @return [Hash] all of them merged into one window
    def self.merge_all(hashes) = hashes.map { |hash| Window.from_h(hash) }.reduce(:merge).to_h

    # @api private
    # @param hashes [Array<Hash>] {Window#to_h} answers
    # @return [Array<Hash>] those starting at the same time merged, oldest first
    def self.merge_by_start(hashes)
      hashes.map { |hash| Window.from_h(hash) }.group_by(&:started_at).sort
            .map { |_, same| same.reduce(:merge).to_h }
    end

    # @return [String]
    def inspect = "#<#{self.class.name} #{counts.reject { |_, n| n.zero? }} #{percentiles}>"

    private

    # Runs the block under the lock, on this process's counts (a forked child
    # must not report its parent's runs as its own), the plain runs included.
    def current
      @lock.synchronize do
        clear if @forks != Forks.count
        # Records taken from the native ledger exist nowhere else: an interrupt
        # (Thread#raise, Timeout) must not land between the take and the tally.
        Thread.handle_interrupt(UNINTERRUPTED) { absorb(Native.take_records) } if @plain_runs
        yield
      end
    end

    # @param records [Array<Array>] `[ending, exited_zero, duration, unix_time]` each, oldest first
    def absorb(records)
      records.each do |ending, exited_zero, duration, at|
        outcome = Event.outcome_of_ending(ending, exited_zero)
        tally(@total, outcome, duration)
        tally(window_at(at), outcome, duration)
      end
    end

    def clear
      @forks = Forks.count
      @total = slot(@clock.call)
      @windows = {}
    end

    def tally(slot, outcome, duration)
      slot[:counts][outcome] += 1
      slot[:durations].record(duration) if duration
    end

    def slot(started_at) = { started_at:, counts: Hash.new(0), durations: Histogram.new }

    # Old windows are dropped when a new one starts, not on every run.
    def window_at(now)
      start = now - (now % @window_seconds)
      @windows[start] || begin
        @windows.delete_if { |started_at, _| started_at <= start - (@windows_kept * @window_seconds) }
        @windows[start] = slot(start)
      end
    end

    def freeze_slot(slot, seconds)
      Window.new(started_at: slot[:started_at], seconds:, counts: slot[:counts], durations: slot[:durations].snapshot)
    end
  end
end
