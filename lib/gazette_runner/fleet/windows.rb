# frozen_string_literal: true

require "json"

module GazetteRunner
  module Fleet
    # The fleet's 5-minute windows in Redis: one hash per window, under
    # `<prefix>window:<start>`, kept {TTL} seconds, to which every process
    # adds what it counted since its last publication (outcome counts,
    # histogram buckets `b<index>`, the sum of durations) and its peaks
    # (`dmax`, `ndmin` — the negated shortest duration — and `rss`, the peak
    # child RSS). Runs of a process that has since died still count.
    class Windows
      # Seconds a window is kept in Redis: a day and an hour.
      TTL = 25 * 3600
      # Adds a batch of deltas atomically.
      SCRIPT = <<~LUA
        local ttl = tonumber(ARGV[1])
        for i, key in ipairs(KEYS) do
          local w = cjson.decode(ARGV[i + 1])
          for field, n in pairs(w.incr) do redis.call('HINCRBY', key, field, n) end
          if w.sum ~= 0 then redis.call('HINCRBYFLOAT', key, 'sum', w.sum) end
          for field, v in pairs(w.peak) do
            local current = tonumber(redis.call('HGET', key, field))
            if current == nil or v > current then redis.call('HSET', key, field, v) end
          end
          redis.call('EXPIRE', key, ttl)
        end
        return #KEYS
      LUA
      # Fields that are peaks, not counts.
      PEAKS = %w[dmax ndmin rss].freeze

      # @param config [Config]
      def initialize(config)
        @config = config
        @pushed = {}
        @peaks = Hash.new(0)
        @lock = Mutex.new
      end

      # Notes a child's peak RSS in the current window.
      # @param rss [Integer, nil] bytes
      # @param now [Integer] Unix time
      # @return [void]
      def peak(rss, now: Time.now.to_i)
        start = now - (now % Stats::WINDOW_SECONDS)
        @lock.synchronize do
          @peaks[start] = [@peaks[start], rss || 0].max
          @peaks.delete_if { |at, _| at < start - 7200 }
        end
      end

      # Adds what {GazetteRunner.stats} counted since the last push; on an
      # error nothing is marked as pushed, so the next push sends it again.
      # @param redis [RedisAdapter]
      # @return [Integer] windows written
      def push(redis)
        pending = GazetteRunner.stats.windows.filter_map { |window| delta(window) }
        return 0 if pending.empty?

        redis.eval(SCRIPT, keys: pending.map { |start, _, _| @config.key("window", start) },
                           argv: [TTL, *pending.map { |_, payload, _| JSON.generate(payload) }])
        pushed(pending)
      end

      private

      def pushed(pending)
        pending.each { |start, _, fields| @pushed[start] = fields }
        @pushed.delete_if { |start, _| start < Time.now.to_i - 7200 }
        pending.size
      end

      def increments(now, before)
        now.except("sum", *PEAKS).to_h { |field, n| [field, n - before.fetch(field, 0)] }.select { |_, n| n.positive? }
      end

      # [start, payload, what will then have been pushed] for a window with something new.
      def delta(window)
        start = window.started_at
        now = fields(window).merge("rss" => @lock.synchronize { @peaks[start] })
        before = @pushed.fetch(start, {})
        incr = increments(now, before)
        return if incr.empty? && now["rss"] <= before.fetch("rss", 0)

        [start, { "incr" => incr, "sum" => now["sum"] - before.fetch("sum", 0.0), "peak" => now.slice(*PEAKS).compact },
         now]
      end

      def fields(window)
        durations = window.durations
        window.counts.reject { |_, n| n.zero? }.transform_keys(&:to_s)
              .merge(durations.buckets_hash.transform_keys { |index| "b#{index}" })
              .merge("sum" => durations.sum, "dmax" => durations.max, "ndmin" => durations.min && -durations.min)
      end
    end
  end
end
