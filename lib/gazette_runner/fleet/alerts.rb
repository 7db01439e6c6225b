# frozen_string_literal: true

require "json"

module GazetteRunner
  module Fleet
    # The post-mortem's four alert conditions, measured on a {View}:
    #
    # - `long_job`: the longest-running job (or child) in the fleet, in seconds,
    #   against {Config#long_job_seconds};
    # - `worker_memory`: the largest worker RSS, in bytes, against {Config#worker_rss_bytes};
    # - `success_rate`: ok runs over counted runs in the last {Config#alert_window}
    #   (judged once {Config#min_runs} runs were made), against {Config#success_rate};
    # - `dead_jobs`: jobs added to Sidekiq's dead set in the last
    #   {Config#alert_window}, against {Config#dead_jobs}.
    #
    # The alert state (which conditions hold, since when) is kept in Redis, so
    # whichever process holds the evaluation lock delivers each change once.
    module Alerts
      # Seconds the alert state and measurements are kept without an evaluator.
      STATE_TTL = 24 * 3600
      # Takes the evaluation lock, or extends it when the caller holds it.
      LOCK_SCRIPT = <<~LUA
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
        return 0
      LUA

      class << self
        # @param view [View]
        # @param config [Config] whose thresholds apply
        # @return [Hash{String=>Hash{String=>Object}}] per alert name: value,
        #   threshold, holds (Boolean) and detail
        def measure(view, config = view.config)
          { "long_job" => long_job(view, config), "worker_memory" => worker_memory(view, config),
            "success_rate" => success_rate(view, config), "dead_jobs" => dead_jobs(view, config) }
        end

        # Takes (or keeps) the fleet's evaluation lock for {Config#ttl} seconds.
        # @param redis [RedisAdapter]
        # @param config [Config]
        # @param holder [String] who asks, unique in the fleet
        # @return [Boolean] true when the holder has the lock
        def lock(redis, config, holder)
          redis.eval(LOCK_SCRIPT, keys: [config.key("alerts", "lock")], argv: [holder, (config.ttl * 1000).ceil]) == 1
        end

        # Measures, compares with the state kept in Redis, stores the new state
        # and returns the changes (to be delivered by the caller).
        # @param redis [RedisAdapter]
        # @param config [Config]
        # @param view [View]
        # @param now [Float] Unix time
        # @return [Array<GazetteRunner::Alert>] conditions that started or stopped holding
        def evaluate(redis, config, view, now: Time.now.to_f)
          measured = measure(view, config)
          changes = measured.filter_map { |name, m| change(redis, config, name, m, view.alerts[name], now) }
          redis.set(config.key("alerts", "measured"), JSON.generate("at" => now, "alerts" => measured),
                    seconds: STATE_TTL)
          redis.expire(config.key("alerts"), STATE_TTL)
          changes
        end

        # What the dashboard shows: per alert, the evaluator's last measurement
        # (or, when no process evaluates, one made now with the view's config)
        # and since when it holds.
        # @param view [View]
        # @return [Array<Hash{String=>Object}>] in {GazetteRunner::Alert::NAMES} order
        def report(view)
          measured = view.measured&.fetch("alerts", nil) || measure(view)
          GazetteRunner::Alert::NAMES.map do |name|
            state = view.alerts[name.to_s]
            { "name" => name.to_s, **measured.fetch(name.to_s, {}), "firing" => !state.nil?,
              "since" => state&.fetch("since") }
          end
        end

        private

        def change(redis, config, name, measurement, state, now) # rubocop:disable Metrics/ParameterLists
          if measurement["holds"]
            since = state ? state["since"] : now
            redis.hset(config.key("alerts"), name, JSON.generate(measurement.merge("since" => since)))
            return if state

            alert(name, :firing, measurement, since)
          elsif state
            redis.hdel(config.key("alerts"), name)
            alert(name, :cleared, measurement, state["since"])
          end
        end

        def alert(name, state, measurement, since)
          GazetteRunner::Alert.new(name:, state:, value: measurement["value"], threshold: measurement["threshold"],
                                   since:, detail: measurement["detail"])
        end

        def long_job(view, config)
          longest = (view.jobs + view.children).max_by { |run| run["elapsed"] }
          value = longest && longest["elapsed"].round(1)
          measurement(value, config.long_job_seconds, value && value > config.long_job_seconds, run_detail(longest))
        end

        def run_detail(run)
          run && "#{run["class"] || run["argv"]&.first} on #{run["host"]} (worker #{run["worker_pid"]})"
        end

        def worker_memory(view, config)
          largest = view.processes.select { |p| p["rss"] }.max_by { |p| p["rss"] }
          value = largest && largest["rss"]
          measurement(value, config.worker_rss_bytes, value && value > config.worker_rss_bytes,
                      largest && "#{largest["host"]} (worker #{largest["pid"]})")
        end

        def success_rate(view, config)
          summary = view.summary(config.alert_window)
          rate = summary["success_rate"]
          judged = rate && summary["runs"] >= config.min_runs
          measurement(rate&.round(4), config.success_rate, judged && rate < config.success_rate,
                      "#{summary["runs"]} runs, #{summary["counts"]["ok"]} ok")
        end

        def dead_jobs(view, config)
          measurement(view.dead_recent, config.dead_jobs, view.dead_recent >= config.dead_jobs,
                      "added to the dead set in the last #{config.alert_window / 60} minutes")
        end

        def measurement(value, threshold, holds, detail)
          { "value" => value, "threshold" => threshold, "holds" => holds ? true : false, "detail" => detail.to_s }
        end
      end
    end
  end
end
