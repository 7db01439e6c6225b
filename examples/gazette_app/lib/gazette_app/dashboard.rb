# frozen_string_literal: true

require "json"
require "net/http"
require "rack"
require "rack/handler/webrick"
require "securerandom"
require "sidekiq/web"
require "webrick"
require "gazette_runner/web"
require "gazette_runner/web/estimates"
require_relative "fan_out_status"

module GazetteApp
  # Sidekiq's web UI with the gem's dashboard as a tab (and standing alone at
  # /gazette), and the app's page of fanned-out documents at /fan_out, served
  # by WEBrick from a thread of the process that starts it,
  # on a free loopback port. The demo's: production mounts the same Rack apps
  # in its own web server (see docs/dashboard.md).
  class Dashboard
    attr_reader :url

    def self.start(redis_url:) = new(redis_url:).tap(&:start)

    def initialize(redis_url:)
      @redis_url = redis_url
    end

    def start
      GazetteRunner::Web.register_sidekiq_tab
      @server = WEBrick::HTTPServer.new(BindAddress: "127.0.0.1", Port: 0, Logger: WEBrick::Log.new(File::NULL),
                                        AccessLog: [])
      @server.mount("/", Rack::Handler::WEBrick, app)
      @url = "http://127.0.0.1:#{@server.config[:Port]}"
      @thread = Thread.new { @server.start }
    end

    def stop
      @server&.shutdown
      @thread&.join(5)
    end

    # The merged fleet snapshot, as the page shows it.
    def snapshot = JSON.parse(Net::HTTP.get(URI("#{url}/gazette/stats.json")))

    # The fanned-out documents, as their status page shows them.
    def fan_out = JSON.parse(Net::HTTP.get(URI("#{url}/fan_out/documents.json")))

    private

    def app # rubocop:disable Metrics/AbcSize -- one line per mounted app
      redis_url = @redis_url
      Rack::Builder.new do
        use Rack::Session::Cookie, secret: SecureRandom.hex(64), same_site: true, max_age: 86_400
        map("/sidekiq") { run Sidekiq::Web }
        map("/gazette") { run GazetteRunner::Web.new(redis: Redis.new(url: redis_url)) }
        # The slicer's learned bounds (GazetteApp::Timing): predictions, ETAs, predicted against actual.
        map("/gazette/estimates") do
          run GazetteRunner::Web::Estimates.new(redis: Redis.new(url: redis_url), names: ["slicer"])
        end
        map("/fan_out") { run FanOutStatus.new(redis: Redis.new(url: redis_url)) }
      end
    end
  end
end
