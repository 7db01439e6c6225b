# frozen_string_literal: true

require "socket"

module GazetteRunner
  module Fleet
    # Where the fleet's snapshots live in Redis, how often they are published,
    # what the alerts compare against, and what of a program's argv may leave
    # the process. Frozen; {#with} makes a changed copy.
    #
    #   GazetteRunner::Fleet.configure(prefix: "myapp:gazette:", long_job_seconds: 1800)
    class Config
      # The default `redact:` hook: nothing more than {GazetteRunner::Redaction.argv}, which always runs first.
      DEFAULT_REDACT = ->(argv) { argv }

      # Every setting and its default.
      DEFAULTS = {
        prefix: "gazette_runner:", interval: 5.0, ttl: nil, host: nil,
        long_job_seconds: 20 * 60, worker_rss_bytes: 1024**3, rss_target_bytes: 500 * (1024**2),
        success_rate: 0.9, min_runs: 10, dead_jobs: 3, alert_window: 3600, dead_set: "dead",
        argv_shown: 2, redact: DEFAULT_REDACT
      }.freeze

      # @return [String] the prefix of every Redis key (default "gazette_runner:")
      attr_reader :prefix
      # @return [Float] seconds between two publications of a process's snapshot (default 5)
      attr_reader :interval
      # @return [Float] seconds a snapshot lives in Redis (default 3 intervals)
      attr_reader :ttl
      # @return [String] this machine's name as shown on the dashboard (default the hostname)
      attr_reader :host
      # @return [Numeric] seconds a job may run before the `long_job` alert (default 1200)
      attr_reader :long_job_seconds
      # @return [Integer] bytes of RSS a worker may use before the `worker_memory` alert (default 1 GiB)
      attr_reader :worker_rss_bytes
      # @return [Integer] bytes of RSS a worker should stay under (default 500 MiB; flagged, no alert)
      attr_reader :rss_target_bytes
      # @return [Float] the success rate under which `success_rate` fires (default 0.9)
      attr_reader :success_rate
      # @return [Integer] runs needed in the alert window before the success rate is judged (default 10)
      attr_reader :min_runs
      # @return [Integer] jobs added to the dead set within the alert window that fire `dead_jobs` (default 3)
      attr_reader :dead_jobs
      # @return [Integer] seconds of history the success rate and dead-set alerts look at (default 3600)
      attr_reader :alert_window
      # @return [String] the Redis key of Sidekiq's dead set (default "dead")
      attr_reader :dead_set
      # @return [Integer] arguments shown after the program (default 2)
      attr_reader :argv_shown
      # @return [#call] given an argv already redacted by {GazetteRunner::Redaction.argv}
      #   (Array of Strings), returns the argv to show
      attr_reader :redact

      # @param options [Hash] any of {DEFAULTS}' keys
      # @raise [ArgumentError] an unknown key or a value out of range
      def initialize(**options)
        unknown = options.keys - DEFAULTS.keys
        raise ArgumentError, "unknown fleet settings: #{unknown.join(", ")}" unless unknown.empty?

        DEFAULTS.merge(options).each { |name, value| instance_variable_set(:"@#{name}", value) }
        validate
        normalize
        freeze
      end

      # @param options [Hash] settings to change
      # @return [Config] a copy with them changed
      def with(**options) = Config.new(**to_h, **options)

      # @return [Hash{Symbol=>Object}] every setting
      def to_h = DEFAULTS.keys.to_h { |name| [name, instance_variable_get(:"@#{name}")] }

      # @param parts [Array<#to_s>]
      # @return [String] a Redis key under {#prefix}
      def key(*parts) = "#{prefix}#{parts.join(":")}"

      # What of a program's argv may be shown or published: argv redacted by
      # {GazetteRunner::Redaction.argv}, then given to the `redact:` hook
      # (which can hide more, never less), cut to the program and
      # {#argv_shown} arguments, each at most {Caps::ARGUMENT} bytes. A hook
      # that raises shows the program alone.
      # @param argv [Array<String>]
      # @return [Array<String>]
      def shown_argv(argv)
        shown = redacted(argv)
        cut = shown.first(argv_shown + 1).map { |arg| Caps.cut(arg, Caps::ARGUMENT) }
        shown.size > cut.size ? [*cut, "… (+#{shown.size - cut.size})"] : cut
      end

      private

      def redacted(argv)
        safe = Redaction.argv(argv)
        Array(redact.call(safe.dup))
      rescue StandardError
        safe ? safe.first(1) : []
      end

      def normalize
        @ttl = (@ttl || (@interval * 3)).to_f
        @host = (@host || Socket.gethostname).to_s.dup.freeze
        @prefix = @prefix.to_s.dup.freeze
      end

      # Numbers through the gem's one range table; the rest here.
      def validate
        %i[interval long_job_seconds worker_rss_bytes rss_target_bytes alert_window dead_jobs argv_shown].each do |name|
          instance_variable_set(:"@#{name}", Options.number(instance_variable_get(:"@#{name}"), name.to_s))
        end
        @ttl = Options.optional_number(@ttl, "ttl")
        raise ArgumentError, "ttl must exceed interval" if @ttl && @ttl <= @interval

        validate_others
      end

      def validate_others
        unless @success_rate.is_a?(Numeric) && @success_rate.real? && (0..1).cover?(@success_rate)
          raise ArgumentError, "success_rate must be in 0..1, got #{@success_rate.inspect[0, 40]}"
        end
        raise ArgumentError, "redact must respond to call" unless @redact.respond_to?(:call)
      end
    end
  end
end
