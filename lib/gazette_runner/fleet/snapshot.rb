# frozen_string_literal: true

require "json"

module GazetteRunner
  module Fleet
    # What one worker process publishes: its running children and jobs, its
    # counters and histograms ({Stats#to_h}), its circuit breakers, its own
    # memory and descriptors. A JSON-ready Hash with String keys.
    module Snapshot
      class << self
        # @param config [Config]
        # @param breakers [Array<String>] names of the breakers to report
        # @param now [Float] Unix time
        # @return [Hash{String=>Object}]
        def take(config, breakers: [], now: Time.now.to_f)
          { "id" => "#{config.host}:#{Process.pid}", "host" => config.host, "pid" => Process.pid, "at" => now,
            "rss" => rss(Process.pid), "fds" => fds, "children" => children(config),
            "jobs" => Jobs.all.map(&:to_h), "breakers" => breakers.map { |name| breaker(name) },
            "stats" => GazetteRunner.stats.to_h }
        end

        # Stores a snapshot under `<prefix>process:<id>` for {Config#ttl}
        # seconds and lists it in `<prefix>processes` (pruning long-gone ids).
        # @param redis [RedisAdapter]
        # @param config [Config]
        # @param snapshot [Hash{String=>Object}] as {.take} returns it
        # @return [void]
        def write(redis, config, snapshot)
          id = snapshot.fetch("id")
          redis.set(config.key("process", id), JSON.generate(snapshot), milliseconds: (config.ttl * 1000).ceil)
          redis.zadd(config.key("processes"), snapshot.fetch("at"), id)
          redis.zremrangebyscore(config.key("processes"), "-inf", snapshot.fetch("at") - (config.ttl * 10))
        end

        # @param pid [Integer]
        # @return [Integer, nil] the process's resident memory in bytes, from
        #   /proc (nil when it has gone or there is no /proc)
        def rss(pid)
          kib = File.foreach("/proc/#{pid}/status").find { |line| line.start_with?("VmRSS:") }
          kib && (kib[/\d+/].to_i * 1024)
        rescue SystemCallError
          nil
        end

        # @return [Integer, nil] descriptors this process has open (nil without /proc)
        def fds
          Dir.children("/proc/self/fd").size - 1 # the listing itself holds one while it reads
        rescue SystemCallError
          nil
        end

        private

        def children(config)
          GazetteRunner.running.map do |child|
            { "pid" => child.pid, "argv" => config.shown_argv(child.argv), "started_at" => child.started_at.to_f,
              "bound" => child.bound, "rss" => rss(child.pid),
              "progress" => child.progress && { "percent" => child.progress.percent,
                                                "message" => child.progress.message&.scrub } }
          end
        end

        def breaker(name)
          breaker = CircuitBreaker.new(name)
          { "name" => name, "state" => breaker.state.to_s, "failures" => breaker.failures,
            "retry_in" => breaker.retry_in }
        end
      end
    end
  end
end
