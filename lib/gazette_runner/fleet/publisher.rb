# frozen_string_literal: true

require "json"

module GazetteRunner
  module Fleet
    # Publishes this process's {Snapshot} to Redis every {Config#interval}
    # seconds on a thread of its own, adds its runs to the fleet's {Windows},
    # and, while it holds the fleet's evaluation
    # lock, evaluates the alerts. A failed publication is logged and retried
    # at the next interval; nothing here ever runs on a job's thread.
    # Start it with {Fleet.start}.
    class Publisher
      # @return [Config]
      attr_reader :config
      # @return [Integer] publications that succeeded
      attr_reader :ticks
      # @return [Float] CPU seconds the publishing thread has used
      attr_reader :cpu_seconds
      # @return [Exception, nil] the last publication's error, nil once one succeeds
      attr_reader :last_error

      # @param redis [Object] a Redis client, a ConnectionPool of them, or a
      #   callable returning one (called on the publishing thread)
      # @param config [Config]
      def initialize(redis:, config: Fleet.config)
        @redis_source = redis
        @config = config
        @id = "#{config.host}:#{Process.pid}:#{object_id}"
        @ticks = 0
        @cpu_seconds = 0.0
        @windows = Windows.new(config)
        @thread = Background.new("gazette_runner fleet", interval: config.interval, on_error: ->(e) { failed(e) },
                                                         round: -> { publish_once })
      end

      # Starts the thread (once).
      # @return [self]
      def start
        @subscription = GazetteRunner.subscribe { |event| observed(event) } if @thread.start
        self
      end

      # Stops the thread and removes this process's snapshot from Redis.
      # @param timeout [Numeric] seconds to wait for the thread
      # @return [self]
      def stop(timeout: 2)
        @thread.stop(timeout)
        @subscription&.unsubscribe
        withdraw
        self
      end

      # @return [Boolean] true while the thread runs
      def running? = @thread.running?

      # Publishes once, now, on the calling thread (the thread calls it every interval).
      # @return [Boolean] true when it succeeded
      def publish_once
        started = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID)
        with_redis { |redis| publish(redis) }
        @ticks += 1
        @last_error = nil
        true
      rescue StandardError => e
        failed(e)
        false
      ensure
        @cpu_seconds += Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID) - started
      end

      private

      def with_redis(&)
        @redis ||= Fleet.resolve(@redis_source)
        Fleet.with_redis(@redis, &)
      end

      def publish(redis)
        now = Time.now.to_f
        write_snapshot(redis, now)
        @windows.push(redis)
        evaluate(redis, now) if locked?(redis)
      end

      def write_snapshot(redis, now)
        snapshot = Snapshot.take(config, breakers: Fleet.breakers, now:)
        snapshot["publisher"] = { "ticks" => @ticks, "cpu_seconds" => @cpu_seconds.round(6) }
        Snapshot.write(redis, config, snapshot)
      end

      def locked?(redis) = Alerts.lock(redis, config, @id)

      def evaluate(redis, now)
        view = View.load(redis, config, now:)
        Alerts.evaluate(redis, config, view, now:).each { |alert| GazetteRunner::Alert.deliver(alert) }
      end

      def observed(event)
        @windows.peak(event.max_rss)
      end

      def withdraw
        with_redis do |redis|
          redis.del(config.key("process", "#{config.host}:#{Process.pid}"))
          redis.zrem(config.key("processes"), "#{config.host}:#{Process.pid}")
        end
      rescue StandardError => e
        failed(e)
      end

      def failed(error)
        @last_error = error
        GazetteRunner.logger&.warn("gazette_runner fleet: publishing failed: #{Redaction.error(error)}")
      end
    end
  end
end
