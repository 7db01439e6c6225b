# frozen_string_literal: true

require "json"

module GazetteRunner
  module Fleet
    # The whole fleet as read from Redis at one moment: every live process's
    # {Snapshot}, the fleet's 5-minute {Windows} of the last 24 hours, the
    # alert state and the dead set's recent additions. What the dashboard
    # shows, the JSON endpoint returns ({#to_h}), and the alerts are evaluated on.
    class View
      # Windows read: 24 hours of 5 minutes.
      DAY_WINDOWS = 24 * 3600 / Stats::WINDOW_SECONDS

      # @return [Config]
      attr_reader :config
      # @return [Float] Unix time it was read
      attr_reader :now
      # @return [Array<Hash{String=>Object}>] the live processes' snapshots, by host and pid
      attr_reader :processes
      # @return [Array<Stats::Window>] the fleet's 5-minute windows that saw a run, oldest first
      attr_reader :windows
      # @return [Hash{Integer=>Integer}] window start => peak child RSS in bytes
      attr_reader :peak_rss
      # @return [Hash{String=>Hash}] the alerts that hold, by name, as the evaluator stored them
      attr_reader :alerts
      # @return [Hash{String=>Object}, nil] the evaluator's last measurements
      attr_reader :measured
      # @return [Integer] jobs added to the dead set within {Config#alert_window}
      attr_reader :dead_recent

      class << self
        # Reads the fleet from Redis.
        # @param redis [Object] a Redis connection (or ConnectionPool, or a Proc returning one; see {Fleet.with_redis})
        # @param config [Config]
        # @param now [Float] Unix time
        # @return [View]
        def load(redis, config = Fleet.config, now: Time.now.to_f)
          Fleet.with_redis(redis) do |connection|
            new(config, now, snapshots: snapshots(connection, config), windows: windows(connection, config, now),
                             alerts: connection.hgetall(config.key("alerts")),
                             measured: connection.get(config.key("alerts", "measured")),
                             dead_recent: connection.zcount(config.dead_set, now - config.alert_window, "+inf"))
          end
        end

        # @param now [Float]
        # @return [Array<Integer>] the starts of the last day's windows, oldest first
        def window_starts(now)
          last = now.to_i - (now.to_i % Stats::WINDOW_SECONDS)
          (0...DAY_WINDOWS).map { |i| last - (i * Stats::WINDOW_SECONDS) }.reverse
        end

        # @api private
        # @param start [Integer] Unix time
        # @param hash [Hash{String=>String}] the window's Redis hash
        # @return [Stats::Window]
        def window(start, hash) # rubocop:disable Metrics/AbcSize -- one field per histogram part
          buckets = hash.select { |field, _| field.start_with?("b") }.to_h { |f, n| [Integer(f[1..]), Integer(n)] }
          durations = Histogram.new(buckets:, sum: hash["sum"].to_f, max: hash["dmax"]&.to_f,
                                    min: hash["ndmin"] && -hash["ndmin"].to_f)
          Stats::Window.new(started_at: start, seconds: Stats::WINDOW_SECONDS, durations:,
                            counts: hash.slice(*Event::OUTCOMES.map(&:to_s)))
        end

        # A snapshot as the page and the JSON endpoint show it, whoever wrote
        # it: at most {Caps::SNAPSHOT_ROWS} children, each argv redacted
        # again ({Redaction.argv}) and cut, each progress message cut.
        # @api private
        # @param snapshot [Hash{String=>Object}]
        # @return [Hash{String=>Object}]
        def shown(snapshot)
          children = Array(snapshot["children"]).first(Caps::SNAPSHOT_ROWS).map { |child| shown_child(child) }
          snapshot.merge("children" => children, "jobs" => Array(snapshot["jobs"]).first(Caps::SNAPSHOT_ROWS))
        end

        private

        def shown_child(child)
          child.merge("argv" => Redaction.argv(Array(child["argv"])).map { |arg| Caps.cut(arg, Caps::ARGUMENT) },
                      "progress" => child["progress"] && shown_progress(child["progress"]))
        end

        def shown_progress(progress)
          message = progress["message"]
          progress.merge("message" => message && Caps.cut(message, Caps::PROGRESS_MESSAGE))
        end

        def snapshots(redis, config)
          ids = redis.zrange(config.key("processes"), 0, -1)
          return [] if ids.empty?

          redis.mget(ids.map { |id| config.key("process", id) }).compact.map { |json| JSON.parse(json) }
        end

        def windows(redis, config, now)
          starts = window_starts(now)
          starts.zip(redis.hgetall_each(starts.map { |start| config.key("window", start) }))
        end
      end

      # @param config [Config]
      # @param now [Float]
      # @param snapshots [Array<Hash>] the live processes' snapshots
      # @param windows [Array(Integer, Hash)] each window's start and Redis hash
      # @param alerts [Hash{String=>String}] alert name => JSON
      # @param measured [String, nil] JSON
      # @param dead_recent [Integer]
      def initialize(config, now, snapshots:, windows:, alerts: {}, measured: nil, dead_recent: 0) # rubocop:disable Metrics/ParameterLists,Metrics/AbcSize,Metrics/CyclomaticComplexity
        @config = config
        @now = now
        @processes = snapshots.map { View.shown(_1) }.sort_by { |p| [p["host"].to_s, p["pid"].to_i] }
        @peak_rss = windows.to_h.transform_values { |hash| hash["rss"].to_i }.select { |_, rss| rss.positive? }
        @windows = windows.reject { |_, hash| hash.empty? }.map { |start, hash| View.window(start, hash) }
        @alerts = alerts.transform_values { |json| JSON.parse(json) }
        @measured = measured && JSON.parse(measured)
        @dead_recent = Integer(dead_recent)
      end

      # @return [Array<Hash{String=>Object}>] every running child in the fleet,
      #   with its host, worker pid and elapsed seconds, longest-running first
      def children = located("children")

      # @return [Array<Hash{String=>Object}>] every running job (as the job
      #   tracking middleware recorded it), with host, worker pid and elapsed seconds
      def jobs = located("jobs")

      # @return [Array<Hash{String=>Object}>] one row per breaker name: how
      #   many processes have it in each state, the most consecutive failures,
      #   and the seconds until the first probe of an open one (nil if none is open)
      def breakers
        rows = processes.flat_map { |process| process.fetch("breakers", []) }
        rows.group_by { |row| row["name"] }.sort.map { |name, same| breaker(name, same) }
      end

      # Outcomes over the last `seconds`, fleet-wide (from the windows, so runs
      # of processes that have since stopped count too).
      # @param seconds [Integer]
      # @return [Hash{String=>Object}] counts, runs, success_rate (nil with no
      #   run), p50/p95/p99 seconds and peak child RSS (bytes, nil if unknown)
      def summary(seconds) # rubocop:disable Metrics/AbcSize -- a flat report
        recent = windows.select { |w| w.ended_at > now - seconds }
        total = recent.reduce(:merge) || Stats::Window.new(started_at: now.to_i, seconds: 0, counts: {},
                                                           durations: Histogram.new)
        runs = total.counts.except(*Event::NEUTRAL).values.sum
        { "counts" => total.counts.transform_keys(&:to_s), "runs" => runs,
          "success_rate" => runs.zero? ? nil : total.counts[:ok].fdiv(runs),
          **total.percentiles.transform_keys(&:to_s),
          "peak_rss" => peak_rss.values_at(*recent.map(&:started_at)).compact.max }
      end

      # @return [Array<Hash{String=>Object}>] the alerts as the dashboard shows them (see {Alerts.report})
      def alert_report = (@alert_report ||= Alerts.report(self))

      # @return [Hash{String=>Object}, nil] the live processes' own {Stats} merged ({Stats.merge})
      def live_stats = processes.empty? ? nil : Stats.merge(*processes.map { |p| p["stats"] })

      # @return [Hash{String=>Object}] JSON-ready: everything the dashboard shows
      def to_h # rubocop:disable Metrics/AbcSize -- a flat report
        { "at" => now, "prefix" => config.prefix, "processes" => processes, "children" => children,
          "jobs" => jobs, "breakers" => breakers, "last_hour" => summary(3600), "last_day" => summary(24 * 3600),
          "windows" => windows.map { |w| w.to_h.merge("peak_rss" => peak_rss[w.started_at]) },
          "live_stats" => live_stats, "alerts" => alert_report, "dead_recent" => dead_recent }
      end

      private

      # A snapshot field's entries (children or jobs) with where they run and for how long.
      def located(field)
        rows = processes.flat_map do |process|
          process.fetch(field, []).map { |row| row.merge("host" => process["host"], "worker_pid" => process["pid"]) }
        end
        rows.each { |row| row["elapsed"] = now - row["started_at"] }.sort_by { |row| -row["elapsed"] }
      end

      def breaker(name, rows)
        retry_ins = rows.select { |row| row["state"] == "open" }.map { |row| row["retry_in"] }
        { "name" => name, "states" => rows.map { |row| row["state"] }.tally,
          "failures" => rows.map { |row| row["failures"] }.max, "next_probe_in" => retry_ins.min }
      end
    end
  end
end
