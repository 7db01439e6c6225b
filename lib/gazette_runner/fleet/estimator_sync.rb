# frozen_string_literal: true

require "json"

module GazetteRunner
  module Fleet
    # Shares an {Estimator}'s learning across the fleet through Redis, so that
    # every worker learns from all and a restart loses nothing. The fleet's
    # state is one hash, `<prefix>estimator:<name>`, with the fields `state`
    # (JSON, a few kB) and `version`, kept {TTL} seconds after its last write.
    # Every {#interval} seconds (on a thread of its own, never a job's) a sync
    # reads it, adds the runs this process learned since its last sync
    # (an O(1)-sized delta: {Estimator::State#merge}), writes it back only if
    # nobody wrote in between (a compare-and-set on `version`, retried), and
    # adopts the result. A failed sync keeps the delta for the next one.
    #
    #   SLICER = GazetteRunner::Estimator.new("slicer", fallback: 900)
    #   GazetteRunner::Fleet::EstimatorSync.new(SLICER, redis: -> { Redis.new(url:) }).start
    #
    # Each sync also publishes this process's {Estimator#report} (runs in
    # flight with their ETA, the last runs predicted against actual) under
    # `<prefix>estimator:<name>:process:<host>:<pid>`, for three intervals,
    # listed in the sorted set `<prefix>estimator:<name>:processes`; {.read}
    # gathers it all for the dashboard (`GazetteRunner::Web::Estimates`).
    #
    # All of the estimator's Redis commands are in this file: HMGET, a
    # script of HGET, HSET, HINCRBY and EXPIRE; SET with EX, ZADD, EXPIRE,
    # ZREMRANGEBYSCORE, ZRANGE and MGET for the reports.
    class EstimatorSync
      # Seconds the fleet's state is kept after its last write: 30 days.
      TTL = 30 * 24 * 3600
      # Writes the state if `version` is still what was read.
      CAS_SCRIPT = <<~LUA
        if (redis.call('HGET', KEYS[1], 'version') or '') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'state', ARGV[2])
        redis.call('HINCRBY', KEYS[1], 'version', 1)
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        return 1
      LUA
      # Compare-and-set attempts per sync before the delta waits for the next.
      ATTEMPTS = 5
      private_constant :CAS_SCRIPT, :ATTEMPTS

      # @return [Estimator]
      attr_reader :estimator
      # @return [Float] seconds between syncs
      attr_reader :interval
      # @return [String] the Redis key
      attr_reader :key
      # @return [Integer] syncs that succeeded
      attr_reader :syncs
      # @return [Exception, nil] the last sync's error, nil once one succeeds
      attr_reader :last_error

      # @param estimator [Estimator]
      # @param redis [Object] a Redis client, a ConnectionPool, or a callable returning one
      # @param interval [Numeric] seconds between syncs (> 0)
      # @param config [Config] whose prefix the key takes
      # @param ttl [Integer] seconds the state is kept after a write
      # @raise [ArgumentError] a bad interval or ttl
      def initialize(estimator, redis:, interval: 5.0, config: Fleet.config, ttl: TTL)
        raise ArgumentError, "estimator must be a GazetteRunner::Estimator" unless estimator.is_a?(Estimator)

        @estimator = estimator
        @redis_source = redis
        @interval = Options.number(interval, "interval")
        @ttl = Options.number(ttl, "ttl").ceil
        @key = config.key("estimator", estimator.name)
        @host = config.host
        @member = "#{@host}:#{Process.pid}"
        @syncs = 0
        @thread = background
        estimator.keep_delta # from now on, runs are kept for the fleet
      end

      # Starts the thread (once); its first sync loads what the fleet learned.
      # @return [self]
      def start
        @thread.start
        self
      end

      # Stops the thread after a last sync.
      # @param timeout [Numeric] seconds to wait for it
      # @return [self]
      def stop(timeout: 2)
        @thread.stop(timeout)
        self
      end

      # @return [Boolean] true while the thread runs
      def running? = @thread.running?

      # Syncs once, now, on the calling thread.
      # @return [Boolean] true when it succeeded
      def sync_once
        delta, known = estimator.take_delta
        fleet = Fleet.with_redis(redis) { |client| exchange(client, delta, known) }
        return keep(delta, RuntimeError.new("#{key}: #{ATTEMPTS} concurrent writes in a row")) unless fleet

        estimator.adopt(fleet)
        Fleet.with_redis(redis) { |client| publish(client) }
        @syncs += 1
        @last_error = nil
        true
      rescue StandardError => e
        keep(delta, e)
      end

      # What the fleet learned and what its processes report now.
      # @param redis [Object] a Redis client, a ConnectionPool or a callable returning one
      # @param name [String] the estimator's
      # @param config [Config] whose prefix the keys take
      # @param now [Float] Unix time
      # @return [Hash{String=>Object}] "name", "state" ({Estimator::State#to_h}, nil when
      #   none is stored) and "processes" ({Estimator#report}s with "host", "pid", "at")
      def self.read(redis, name, config: Fleet.config, now: Time.now.to_f)
        key = config.key("estimator", name)
        Fleet.with_redis(Fleet.resolve(redis)) do |client|
          { "name" => name, "state" => client.hget(key, "state")&.then { |json| JSON.parse(json) },
            "processes" => reports(client, key, now) }
        end
      end

      # @api private
      # @return [Array<Hash>] the processes' reports, those gone for an hour forgotten
      def self.reports(client, key, now)
        client.zremrangebyscore("#{key}:processes", "-inf", now - 3600)
        members = client.zrange("#{key}:processes", 0, -1)
        return [] if members.empty?

        client.mget(members.map { |member| "#{key}:process:#{member}" }).compact.map { |json| JSON.parse(json) }
      end

      private

      def redis = @redis ||= Fleet.resolve(@redis_source)

      # The thread; its last round takes the runs of the last interval.
      def background
        sync = -> { sync_once }
        Background.new("gazette_runner estimator #{estimator.name}", interval: @interval,
                                                                     on_error: ->(error) { keep(nil, error) },
                                                                     round: sync, last_round: sync)
      end

      # @return [Estimator::State, nil] the fleet's state with the delta, nil after too many conflicts
      def exchange(client, delta, known)
        ATTEMPTS.times do
          version, json = client.hmget(key, "version", "state")
          # With nothing stored (the first process, or a TTL passed), this
          # process's whole knowledge becomes the fleet's.
          return known if json.nil? && written?(client, version, known)
          next if json.nil?

          merged = Estimator::State.from_h(JSON.parse(json)).merge(delta)
          return merged if empty?(delta) || written?(client, version, merged)
        end
        nil
      end

      def empty?(delta) = (delta.runs + delta.hangs + delta.cold + delta.tight).zero?

      def publish(client)
        now = Time.now.to_f
        report = estimator.report.merge("host" => @host, "pid" => Process.pid, "at" => now)
        client.set("#{key}:process:#{@member}", JSON.generate(report), seconds: report_ttl)
        client.zadd("#{key}:processes", now, @member)
        client.expire("#{key}:processes", @ttl)
      end

      def report_ttl = (interval * 3).ceil

      def written?(client, version, state)
        client.eval(CAS_SCRIPT, keys: [key], argv: [version.to_s, JSON.generate(state.to_h), @ttl]) == 1
      end

      def keep(delta, error)
        estimator.give_back(delta) if delta
        @last_error = error
        GazetteRunner.logger&.warn("gazette_runner estimator #{estimator.name}: sync failed: " \
                                   "#{error.class}: #{error.message}")
        false
      end
    end
  end
end
