# frozen_string_literal: true

require "json"
require_relative "fleet"
require_relative "web/format"
require_relative "web/page"
require_relative "web/sidekiq_tab"

module GazetteRunner
  # The job-health dashboard: one server-rendered page (no JavaScript, no
  # build step, readable on a phone) and a JSON endpoint, both reading the
  # fleet's snapshots from Redis ({Fleet::View}). A plain Rack app:
  #
  #   # config.ru
  #   map("/gazette") { run GazetteRunner::Web.new(redis: Redis.new) }
  #
  # or a tab of Sidekiq's web UI ({SidekiqTab}):
  #
  #   GazetteRunner::Web.register_sidekiq_tab   # after require "sidekiq/web"
  #
  # `GET /` is the page, `GET /stats.json` the merged snapshot. The page
  # shows what the publishers published: argv is redacted and cut where it
  # is published ({Fleet::Config#shown_argv}), never here.
  class Web
    # The JSON endpoint's path, below where the app is mounted.
    JSON_PATH = "/stats.json"
    # The body of every 503: the cause is logged, never shown.
    UNAVAILABLE = "gazette_runner: the fleet cannot be read right now (the cause is in the server's log)"

    # @param redis [Object, nil] a Redis client, a ConnectionPool or a Proc
    #   returning a client; nil uses Sidekiq's pool (Sidekiq.redis_pool)
    # @param config [Fleet::Config, nil] nil uses {Fleet.config} at each request
    def initialize(redis: nil, config: nil)
      @redis = redis
      @config = config
    end

    # @param env [Hash] the Rack environment
    # @return [Array(Integer, Hash, Array<String>)] a Rack response
    def call(env)
      case env["PATH_INFO"].to_s
      when "", "/" then respond(200, "text/html; charset=utf-8", Page.new(view, base: env["SCRIPT_NAME"].to_s).html)
      when JSON_PATH then respond(200, "application/json", JSON.generate(view.to_h))
      else respond(404, "text/plain", "Not Found")
      end
    rescue StandardError => e
      unavailable(e)
    end

    # @return [Fleet::View] the fleet, read now
    def view = Fleet.view(redis, @config || Fleet.config)

    # @return [Object] the Redis client, pool or Proc in use
    # @raise [ArgumentError] none was given and Sidekiq is not loaded
    def redis
      return @redis if @redis
      return ::Sidekiq.redis_pool if defined?(::Sidekiq) && ::Sidekiq.respond_to?(:redis_pool)

      raise ArgumentError, "GazetteRunner::Web needs redis: (or Sidekiq loaded)"
    end

    # Adds the dashboard to Sidekiq's web UI as a tab, with the extension API
    # of the Sidekiq loaded (6.x, 7.x or 8.x; see {SidekiqTab.register}).
    # Call it after `require "sidekiq/web"`, before the web UI serves its first request
    # (when Sidekiq builds it).
    # @param name [String] the tab's title
    # @param redis [Object, nil] as {#initialize} takes it; nil uses Sidekiq's pool
    # @return [Symbol] the registration API used (see {SidekiqTab.register})
    def self.register_sidekiq_tab(name: "Gazette", redis: nil)
      SidekiqTab.app = new(redis:)
      SidekiqTab.register(::Sidekiq::Web, tab: name)
    end

    private

    # The body says nothing of the cause (a Redis address, a password in a
    # URL, an exception): only the log does, redacted.
    def unavailable(error)
      GazetteRunner.logger&.error("gazette_runner web: cannot read the fleet: #{Redaction.error(error)}")
      respond(503, "text/plain; charset=utf-8", UNAVAILABLE)
    end

    def respond(status, type, body)
      [status, { "content-type" => type, "cache-control" => "no-store", "x-content-type-options" => "nosniff",
                 "content-length" => body.bytesize.to_s }, [body]]
    end
  end
end
