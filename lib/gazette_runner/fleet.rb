# frozen_string_literal: true

require "gazette_runner"
require_relative "fleet/redis_adapter"
require_relative "fleet/config"
require_relative "fleet/jobs"
require_relative "fleet/snapshot"
require_relative "fleet/view"
require_relative "fleet/alerts"
require_relative "fleet/windows"
require_relative "fleet/background"
require_relative "fleet/publisher"
require_relative "fleet/estimator_sync"

module GazetteRunner
  # Job health across a whole fleet of worker processes, through the Redis
  # that Sidekiq already uses. Each process publishes a {Snapshot} of itself
  # every few seconds under {Config#prefix} with a short TTL (a process that
  # dies disappears), adds its runs to fleet-wide 5-minute windows, and one
  # process at a time evaluates the {Alerts}. The dashboard
  # (`GazetteRunner::Web`, require "gazette_runner/web") reads a {View}.
  #
  #   require "gazette_runner/fleet"
  #   GazetteRunner::Fleet.configure(long_job_seconds: 1800)
  #   GazetteRunner::Fleet.start(redis: -> { Redis.new(url: ENV["REDIS_URL"]) })
  #   GazetteRunner.on_alert { |alert| Pager.page(alert.name, alert.to_h) if alert.firing? }
  #
  # Nothing here requires a Redis gem: a redis-rb (Sidekiq 6.x) or a
  # redis-client (Sidekiq 7.x, 8.x) connection will do ({RedisAdapter}).
  # Under Sidekiq, `GazetteRunner::Sidekiq.install` (require
  # "gazette_runner/sidekiq") starts and stops the publisher for you.
  module Fleet
    LOCK = Mutex.new
    private_constant :LOCK
    @config = Config.new
    @publisher = nil

    class << self
      # @return [Config] the settings in force in this process
      attr_reader :config

      # @return [Publisher, nil] this process's publisher, once {.start}ed
      attr_reader :publisher

      # Changes this process's settings (start the publisher after this).
      # @param options [Hash] any of {Config::DEFAULTS}' keys
      # @return [Config]
      # @raise [ArgumentError] an unknown key or a value out of range
      def configure(**options)
        LOCK.synchronize { @config = @config.with(**options) }
      end

      # Back to the default settings.
      # @return [Config]
      def reset_config! = LOCK.synchronize { @config = Config.new }

      # Starts publishing this process's snapshot (once per process; a second
      # call returns the running publisher).
      # @param redis [Object] a Redis client, a ConnectionPool, or a callable
      #   returning a client; give the publisher a connection of its own
      # @param options [Hash] settings to change first (see {.configure})
      # @return [Publisher]
      def start(redis:, **options)
        configure(**options) unless options.empty?
        LOCK.synchronize do
          @publisher = nil if @publisher && (@publisher_pid != Process.pid || !@publisher.running?)
          @publisher_pid = Process.pid
          @publisher ||= Publisher.new(redis:, config: @config).start
        end
      end

      # Stops the publisher and withdraws this process's snapshot.
      # @return [void]
      def stop
        publisher = LOCK.synchronize { @publisher.tap { @publisher = nil } }
        publisher&.stop
        nil
      end

      # @return [Array<String>] the names of this process's circuit breakers (their states are published)
      def breakers = CircuitBreaker.names

      # Reads the fleet.
      # @param redis [Object] as {.start} takes it
      # @param config [Config]
      # @return [View]
      def view(redis, config = self.config) = View.load(redis, config)

      # Yields the fleet's commands over a connection taken from a client, a
      # ConnectionPool or a callable; redis-rb and redis-client alike.
      # @param redis [Object]
      # @yieldparam client [RedisAdapter] over the connection
      # @return [Object] the block's value
      # @raise [ArgumentError] what it yields is not a Redis connection
      def with_redis(redis)
        redis = resolve(redis)
        return yield(RedisAdapter.wrap(redis)) unless redis.respond_to?(:with)

        redis.with { |connection| yield RedisAdapter.wrap(connection) }
      end

      # @param redis [Object] a Redis client, a ConnectionPool, or a Proc or
      #   Method returning a client
      # @return [Object] the client or pool (a Proc or Method is called)
      def resolve(redis) = redis.is_a?(Proc) || redis.is_a?(Method) ? redis.call : redis
    end
  end
end
