# frozen_string_literal: true

require "json"
require "rack/test"
require "gazette_runner/web"
require_relative "support/redis_server"
require_relative "support/sidekiq_helpers"

RSpec.describe GazetteRunner::Web, :sidekiq, if: RedisServer.available? do
  include Rack::Test::Methods
  include SidekiqHelpers

  before(:all) { @server = RedisServer.new }
  after(:all) { @server&.stop }

  let(:server) { @server }
  let(:redis) { server.client }
  let(:config) do
    GazetteRunner::Fleet::Config.new(prefix: "web_spec:#{rand(1 << 30)}:", interval: 0.2, long_job_seconds: 0.5)
  end
  let(:publisher) { GazetteRunner::Fleet::Publisher.new(redis: -> { server.client }, config:) }

  def app
    web = described_class.new(redis:, config:)
    Rack::Builder.new { map("/gazette") { run web } }
  end

  # A child that reports progress and waits until the returned queue is told to stop.
  def with_running_child(argv_tail = [])
    runner = Thread.new do
      GazetteRunner.run(["sh", "-c", "echo 'PROGRESS 40 slicing page 3' >&2; exec sleep 5", *argv_tail], timeout: 10)
    end
    eventually(within: 5) { GazetteRunner.running.any? }
    yield
  ensure
    GazetteRunner.running.each { |child| Process.kill(:KILL, -child.pid) rescue nil } # rubocop:disable Style/RescueModifier
    runner&.join(5)
  end

  before { GazetteRunner.stats.reset }

  it "shows running children, outcomes, breakers and workers, and fires the long-job alert" do
    breaker = GazetteRunner::CircuitBreaker.new("web-spec-slicer", threshold: 1).reset
    GazetteRunner.run(%w[false], breaker:)
    2.times { GazetteRunner.run(%w[true]) }
    with_running_child(["gazette.pdf", "--password", "hunter2", "extra"]) do
      sleep 0.6 # past long_job_seconds
      expect(publisher.publish_once).to be(true)
      get "/gazette/"
      expect(last_response.status).to eq(200)
      expect(last_response.headers["content-type"]).to start_with("text/html")
      body = last_response.body
      expect(body).to include("Running now", "slicing page 3", "40%", "sh -c", "… (+4)")
      expect(body).not_to include("hunter2") # only the program and two arguments are published
      expect(body).to include(%(data-alert="long_job" data-firing="true"))
      expect(body).to include("web-spec-slicer", "open: 1")
      expect(body).to match(/<svg id="chart"/)
      expect(body).to include(Process.pid.to_s)
    end
  ensure
    breaker&.reset
  end

  it "returns the merged snapshot as JSON at /gazette/stats.json" do
    GazetteRunner.run(%w[true])
    GazetteRunner.run(%w[false])
    with_running_child do
      publisher.publish_once
      get "/gazette/stats.json"
      expect(last_response.status).to eq(200)
      data = JSON.parse(last_response.body)
      expect(data["processes"].map { |p| p["pid"] }).to eq([Process.pid])
      expect(data["children"].first).to include("worker_pid" => Process.pid,
                                                "progress" => {
                                                  "percent" => 40, "message" => "slicing page 3"
                                                })
      expect(data["children"].first["rss"]).to be_a(Integer)
      expect(data["last_hour"]["counts"]).to include("ok" => 1, "exit_error" => 1)
      expect(data["last_hour"]["success_rate"]).to eq(0.5)
      expect(data["last_day"]["runs"]).to eq(2)
      expect(data["alerts"].map { |a| a["name"] }).to eq(%w[long_job worker_memory success_rate dead_jobs])
      expect(data["live_stats"]["total"]["counts"]).to include("ok" => 1)
    end
  end

  it "counts each run once in the fleet windows however often it publishes" do
    3.times { GazetteRunner.run(%w[true]) }
    3.times { publisher.publish_once }
    GazetteRunner.run(%w[false])
    publisher.publish_once
    summary = GazetteRunner::Fleet.view(redis, config).summary(3600)
    expect(summary["counts"]).to include("ok" => 3, "exit_error" => 1)
    expect(summary["p50"]).to be_a(Float)
  end

  it "withdraws a stopped publisher's snapshot at once" do
    publisher.start
    eventually(within: 3) { GazetteRunner::Fleet.view(redis, config).processes.any? }
    publisher.stop
    expect(GazetteRunner::Fleet.view(redis, config).processes).to eq([])
  end

  it "answers 404 elsewhere and 503 when Redis cannot be read" do
    get "/gazette/nope"
    expect(last_response.status).to eq(404)
    nobody = RedisDriver.connect("redis://127.0.0.1:#{RedisServer.free_port}", timeout: 0.2)
    broken = described_class.new(redis: nobody, config:)
    status, _, body = broken.call("PATH_INFO" => "/", "SCRIPT_NAME" => "/gazette")
    expect(status).to eq(503)
    expect(body.join).to eq(GazetteRunner::Web::UNAVAILABLE)
  end

  it "mounts as a tab of Sidekiq's web UI, registered with its version's API, its style allowed by its CSP" do
    api = described_class.register_sidekiq_tab(redis: -> { server.client })
    expect(api).to eq({ 6 => :register, 7 => :register_keywords, 8 => :register_extension }
                        .fetch(Integer(Sidekiq::VERSION[/\A\d+/])))
    GazetteRunner::Web::SidekiqTab.app = described_class.new(redis: server.client, config:)
    publisher.publish_once
    session = Rack::Test::Session.new(Rack::MockSession.new(sidekiq_web(server.url)))
    session.get "/gazette"
    expect(session.last_response.status).to eq(200)
    body = session.last_response.body
    expect(body).to include("gazette_runner job health", %(href="/gazette">Gazette</a>))
    # An inline <style> applies only if the response's CSP allows it: by
    # 'unsafe-inline' (6.x, 7.x) or by bearing the response's nonce (8.x).
    csp = session.last_response.headers.find { |name, _| name.casecmp?("content-security-policy") }&.last.to_s
    style_src = csp[/style-src ([^;]*)/, 1].to_s.split
    style_nonce = body[/<style(?: nonce="([^"]*)")?>\s*\.gazette\{/, 1]
    nonce = csp[/'nonce-([^']+)'/, 1] # the request's nonce, also in script-src (7.x, 8.x)
    expect(style_nonce).to eq(nonce) # borne whenever Sidekiq has one, absent otherwise (6.x)
    expect(style_src.include?("'unsafe-inline'") || style_src.include?("'nonce-#{style_nonce}'")).to be(true), csp
    session.get "/gazette/stats.json"
    expect(JSON.parse(session.last_response.body)["processes"].size).to eq(1)
  ensure
    Sidekiq::Web.tabs.delete("Gazette") if defined?(Sidekiq::Web)
  end

  describe GazetteRunner::Fleet::Config do
    it "redacts secrets and cuts argv to the program and its first arguments" do
      config = described_class.new(argv_shown: 3)
      expect(config.shown_argv(%w[slice --password hunter2 --api-key=abc https://u:p@host/x]))
        .to eq(["slice", "--password", "[redacted]", "--api-key=[redacted]", "… (+1)"])
      expect(described_class.new(redact: ->(argv) { [argv.first] }).shown_argv(%w[a b c])).to eq(["a"])
      expect(described_class.new(redact: ->(_) { raise "oops" }).shown_argv(%w[a b])).to eq(["a"])
    end

    it "refuses unknown settings and values out of range" do
      expect { described_class.new(colour: "red") }.to raise_error(ArgumentError, /colour/)
      expect { described_class.new(success_rate: 2) }.to raise_error(ArgumentError)
      expect { described_class.new(interval: 5, ttl: 2) }.to raise_error(ArgumentError)
    end
  end
end
