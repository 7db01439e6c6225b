# frozen_string_literal: true

require_relative "fleet"

module GazetteRunner
  # Sidekiq integration: a server middleware that records each running job's
  # start ({JobTracking}, read by the `long_job` alert and the dashboard), and
  # {.install}, which adds it and starts the {Fleet} publisher when the
  # Sidekiq server starts. Loading this file does not load Sidekiq.
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
        config.on(:startup) { Fleet.start(redis: redis || method(:own_connection)) }
        config.on(:shutdown) { Fleet.stop }
      end

      # @return [Object] a Redis client of its own, with the settings of
      #   Sidekiq's pool (so publishing never takes a connection from jobs)
      def own_connection
        options = ::Sidekiq.redis { |connection| connection._client.options }
        ::Redis.new(**options.slice(:url, :scheme, :host, :port, :path, :db, :username, :password, :ssl, :ssl_params),
                    connect_timeout: 2, read_timeout: 2, write_timeout: 2, reconnect_attempts: 0)
      end
    end
  end
end
