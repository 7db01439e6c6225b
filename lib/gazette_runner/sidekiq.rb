# frozen_string_literal: true

require_relative "fleet"

module GazetteRunner
  # Sidekiq integration: a server middleware that records each running job's
  # start ({JobTracking}, read by the `long_job` alert and the dashboard), and
  # {.install}, which adds it and starts the {Fleet} publisher when the
  # Sidekiq server starts. Loading this file does not load Sidekiq.
  # Sidekiq 6.x (redis-rb), 7.x and 8.x (redis-client) alike: see docs/sidekiq.md.
  #
  #   # config/initializers/sidekiq.rb
  #   require "gazette_runner/sidekiq"
  #   Sidekiq.configure_server do |config|
  #     GazetteRunner::Sidekiq.install(config, long_job_seconds: 1200)
  #   end
  module Sidekiq
    # A Sidekiq server middleware: the job is listed in {Fleet::Jobs} while it runs.
    class JobTracking
      # @param _worker [Object] the job instance
      # @param job [Hash] the job's payload
      # @param queue [String]
      # @return [Object] what the job returned
      def call(_worker, job, queue, &)
        Fleet::Jobs.track(jid: job["jid"], klass: job["wrapped"] || job["class"], queue:, &)
      end
    end

    class << self
      # Adds {JobTracking} to the server middleware and starts the {Fleet}
      # publisher on the server's `:startup` event (stopping it on `:shutdown`).
      # @param config [Object] what `Sidekiq.configure_server` yields (or the Sidekiq module)
      # @param redis [Object, nil] the publisher's Redis (see {Fleet.start}); nil
      #   opens a connection of its own with Sidekiq's Redis settings
      # @param options [Hash] fleet settings (see {Fleet.configure})
      # @return [void]
      def install(config, redis: nil, **options)
        Fleet.configure(**options) unless options.empty?
        config.server_middleware { |chain| chain.add(JobTracking) }
        config.on(:startup) { Fleet.start(redis: redis || -> { own_connection(config) }) }
        config.on(:shutdown) { Fleet.stop }
      end

      # A connection of the publisher's own, with the settings of Sidekiq's
      # pool, so publishing never takes a connection from jobs.
      # @param config [Object] what `Sidekiq.configure_server` yields
      # @return [Object] Sidekiq 7+: a pool of one redis-client connection,
      #   made by Sidekiq from its own settings; Sidekiq 6: a redis-rb client
      #   with the pool's options and short timeouts
      def own_connection(config = ::Sidekiq)
        # Sidekiq 7 and 8 make pools of their redis-client connections on request.
        return config.new_redis_pool(1, "gazette_runner") if config.respond_to?(:new_redis_pool)

        options = ::Sidekiq.redis { |connection| connection._client.options }
        ::Redis.new(**options.slice(:url, :scheme, :host, :port, :path, :db, :username, :password, :ssl, :ssl_params),
                    connect_timeout: 2, read_timeout: 2, write_timeout: 2, reconnect_attempts: 0)
      end
    end
  end
end
