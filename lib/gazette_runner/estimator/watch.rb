# frozen_string_literal: true

module GazetteRunner
  class Estimator
    # The `slower_than_learned` alert: a run that passes its predicted p99
    # while still inside its bound is slower than anything the estimator
    # expects, well before the hard bound ends it. One thread per process
    # (started at the first watched run, again after a fork) sleeps until the
    # earliest p99 among the runs in flight and hands an {Alert} to the
    # {GazetteRunner.on_alert} handlers: `firing` when a run passes its p99,
    # `cleared` when that run ends. The alert concerns one run in this
    # process, so it is delivered here, not through the fleet's evaluator.
    class Watch
      # The alert's name.
      ALERT = :slower_than_learned

      LOCK = Mutex.new
      WAKE = ConditionVariable.new
      private_constant :LOCK, :WAKE
      @watches = []
      @thread = nil
      @pid = nil

      # @return [Estimator]
      attr_reader :estimator
      # @return [Prediction]
      attr_reader :prediction
      # @return [Float] monotonic seconds when the run started
      attr_reader :started
      # @return [Float] monotonic seconds when it passes its p99
      attr_reader :due

      # @param estimator [Estimator]
      # @param prediction [Prediction] a learned one
      def initialize(estimator, prediction)
        @estimator = estimator
        @prediction = prediction
        @started = Watch.now
        @due = @started + prediction.p99
        @fired = false
      end

      # Watches a run that starts now.
      # @param estimator [Estimator]
      # @param prediction [Prediction]
      # @return [Watch, nil] nil while the estimator has learned nothing (no p99 yet)
      def self.start(estimator, prediction)
        return nil unless prediction.learned?

        new(estimator, prediction).tap { |watch| Watch.add(watch) }
      end

      # The run ended: stops watching it, and clears its alert if it fired.
      # @return [void]
      def finish
        fired = LOCK.synchronize do
          Watch.remove(self)
          @fired
        end
        Alert.deliver(alert(:cleared)) if fired
      end

      # @return [Boolean] true once the run passed its p99
      def fired? = LOCK.synchronize { @fired }

      # @api private (under the lock)
      # @return [Boolean] true until it fired
      def waiting? = !@fired

      # @api private (under the lock)
      # @return [void]
      def fire! = @fired = true

      # @api private
      # @param now [Float] monotonic seconds
      # @param wall [Float] Unix time at now
      # @return [Hash{String=>Object}]
      def to_h(now, wall) # rubocop:disable Metrics/AbcSize -- a flat report
        elapsed = now - started
        expected = [prediction.p50, prediction.p90, prediction.p99].find { |p| p > elapsed }
        { "size" => prediction.size, "started_at" => (wall - elapsed).round(3), "elapsed" => elapsed.round(3),
          "p50" => prediction.p50.round(3), "p90" => prediction.p90.round(3), "p99" => prediction.p99.round(3),
          "bound" => prediction.bound.round(3), "eta" => expected && (wall - elapsed + expected).round(3),
          "slower_than_learned" => expected.nil? }
      end

      # @api private
      # @param state [Symbol]
      # @return [Alert]
      def alert(state)
        now = Watch.now
        Alert.new(name: ALERT, state:, value: (now - started).round(3), threshold: prediction.p99.round(3),
                  since: Time.now - (now - due), detail:)
      end

      # @api private
      # @return [String] the alert's detail: which estimator, size, p99 and bound
      def detail
        "#{estimator.name} (size #{prediction.size}): predicted p99 #{format("%.3g", prediction.p99)} s, " \
          "bound #{format("%.3g", prediction.bound)} s"
      end

      class << self
        # @api private
        # @return [Float] monotonic seconds
        def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

        # @api private
        # @param watch [Watch]
        # @return [void]
        def add(watch)
          LOCK.synchronize do
            ensure_thread
            @watches << watch
            WAKE.signal
          end
        end

        # @api private (under the lock)
        # @param watch [Watch]
        # @return [void]
        def remove(watch) = @watches.delete(watch)

        # @return [Integer] runs watched in this process now
        def count = LOCK.synchronize { @watches.size }

        # The runs of an estimator in flight in this process, with their
        # expected end: the start plus the first of the predicted p50, p90,
        # p99 not yet passed (none left: slower than learned).
        # @param estimator [Estimator]
        # @return [Array<Hash{String=>Object}>] JSON-ready
        def running(estimator)
          now = Watch.now
          wall = Process.clock_gettime(Process::CLOCK_REALTIME)
          watches = LOCK.synchronize { @watches.select { |watch| watch.estimator.equal?(estimator) } }
          watches.map { |watch| watch.to_h(now, wall) }
        end

        private

        # A forked child has no watcher thread, and none of its parent's runs.
        def ensure_thread
          return if @thread&.alive? && @pid == Process.pid

          @watches.clear unless @pid == Process.pid
          @pid = Process.pid
          @thread = Thread.new { loop_forever }
          @thread.name = "gazette_runner estimator watch"
        end

        def loop_forever
          loop do
            due = LOCK.synchronize { wait_for_due }
            due.each { |watch| Alert.deliver(watch.alert(:firing)) }
          end
        end

        # Sleeps until a watched run is due; returns those due (marked fired).
        def wait_for_due
          loop do
            pending = @watches.select(&:waiting?)
            now = Watch.now
            due = pending.select { |watch| watch.due <= now }
            return due.each(&:fire!) unless due.empty?

            next_due = pending.map(&:due).min
            WAKE.wait(LOCK, next_due ? next_due - now : nil)
          end
        end
      end
    end
  end
end
