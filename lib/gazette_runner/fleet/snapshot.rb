# frozen_string_literal: true

require "json"

module GazetteRunner
  module Fleet
    # What one worker process publishes: its running children and jobs, its
    # counters and histograms ({Stats#to_h}), its circuit breakers, its own
    # memory and descriptors. A JSON-ready Hash with String keys.
    #
    # Its size is bounded whatever the children write: argv is redacted and
    # cut ({Config#shown_argv}), progress messages are cut to
    # {Caps::PROGRESS_MESSAGE} bytes, at most {Caps::SNAPSHOT_ROWS} children
    # and jobs are listed (`children_total` and `jobs_total` count them all),
    # and a snapshot whose JSON would pass {Caps::SNAPSHOT_BYTES} is published
    # without its lists.
    module Snapshot
      class << self
        # @param config [Config]
        # @param breakers [Array<String>] names of the breakers to report
        # @param now [Float] Unix time
        # @return [Hash{String=>Object}]
        def take(config, breakers: [], now: Time.now.to_f)
          { "id" => "#{config.host}:#{Process.pid}", "host" => config.host, "pid" => Process.pid, "at" => now,
            "rss" => rss(Process.pid), "fds" => fds, **rows(config),
            "breakers" => breakers.first(Caps::SNAPSHOT_ROWS).map { |name| breaker(name) },
            "stats" => GazetteRunner.stats.to_h }
        end

        # The snapshot as stored: its JSON, or, past {Caps::SNAPSHOT_BYTES},
        # the JSON of the snapshot without its children and jobs (`truncated` true).
        # @param snapshot [Hash{String=>Object}]
        # @return [String]
        def json(snapshot)
          json = JSON.generate(snapshot)
          return json if json.bytesize <= Caps::SNAPSHOT_BYTES

          JSON.generate(snapshot.merge("children" => [], "jobs" => [], "breakers" => [], "truncated" => true))
        end

        # Stores a snapshot under `<prefix>process:<id>` for {Config#ttl}
        # seconds and lists it in `<prefix>processes` (pruning long-gone ids;
        # the list itself expires 10 × ttl after the last publication).
        # @param redis [RedisAdapter]
        # @param config [Config]
        # @param snapshot [Hash{String=>Object}] as {.take} returns it
        # @return [void]
        def write(redis, config, snapshot)
          id, at = snapshot.fetch_values("id", "at")
          ttl = config.ttl
          redis.set(config.key("process", id), json(snapshot), milliseconds: (ttl * 1000).ceil)
          list = config.key("processes")
          redis.zadd(list, at, id)
          redis.zremrangebyscore(list, "-inf", at - (ttl * 10))
          # The list outlives its members by as long as it keeps them, and no longer.
          redis.pexpire(list, (ttl * 10_000).ceil)
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

        def rows(config)
          running = GazetteRunner.running
          jobs = Jobs.all
          { "children" => children(config, running), "children_total" => running.size,
            "jobs" => jobs.first(Caps::SNAPSHOT_ROWS).map { |job| job(job) }, "jobs_total" => jobs.size }
        end

        def children(config, running)
          running.first(Caps::SNAPSHOT_ROWS).map do |child|
            { "pid" => child.pid, "argv" => config.shown_argv(child.argv), "started_at" => child.started_at.to_f,
              "bound" => child.bound, "rss" => rss(child.pid), "progress" => progress(child.progress) }
          end
        end

        def progress(progress)
          progress && { "percent" => progress.percent,
                        "message" => progress.message && Caps.cut(progress.message, Caps::PROGRESS_MESSAGE) }
        end

        def job(job) = job.to_h.transform_values { |v| v.is_a?(String) ? Caps.cut(v, Caps::JOB_FIELD) : v }

        def breaker(name)
          breaker = CircuitBreaker.new(name)
          { "name" => Caps.cut(name, Caps::BREAKER_NAME), "state" => breaker.state.to_s, "failures" => breaker.failures,
            "retry_in" => breaker.retry_in }
        end
      end
    end
  end
end
