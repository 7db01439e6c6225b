# frozen_string_literal: true

require "json"
require "rack/test"
require "tmpdir"
require "gazette_runner/sidekiq"
require "gazette_runner/web"
require_relative "support/redis_server"
require_relative "support/sidekiq_helpers"

# The integration as a team installs it, under the Sidekiq loaded here
# (Debian's 6.4.1 with redis-rb; the vendored 7.3.10 with redis-client under
# `rake spec:sidekiq7`): a real worker process running
# `GazetteRunner::Sidekiq.install` with no Redis of its own given, jobs
# pushed through Sidekiq's client, and the fleet read back through Sidekiq's
# own pool and its web UI in this process.
RSpec.describe GazetteRunner::Sidekiq, :sidekiq, if: RedisServer.available? do
  include SidekiqHelpers
  include Rack::Test::Methods

  around do |example|
    Dir.mktmpdir("gazette-sidekiq") do |dir|
      @dir = dir
      @server = RedisServer.new
      @pool = sidekiq_pool(@server.url)
      example.run
    ensure
      @pool&.shutdown(&:close)
      @server&.stop
    end
  end

  let(:config) { GazetteRunner::Fleet::Config.new(interval: 0.3, ttl: 1.2, long_job_seconds: 1) }
  let(:alerts_log) { File.join(@dir, "alerts.log") }

  def view = GazetteRunner::Fleet.view(@pool, config)

  def alerts = File.exist?(alerts_log) ? File.readlines(alerts_log).map { |line| JSON.parse(line) } : []

  def push(seconds, status)
    Sidekiq::Client.via(@pool) do
      Sidekiq::Client.push("class" => "SlicePagesJob", "queue" => "gazette_spec", "retry" => 0,
                           "args" => [seconds, status])
    end
  end

  def app = @app ||= sidekiq_web(@server.url)

  it "publishes the worker's jobs, windows and alerts, and the tab shows them" do
    worker = start_sidekiq(@server.url, dir: @dir, env: { "ALERTS_LOG" => alerts_log })
    begin
      live = eventually(within: 10, every: 0.1) { view.processes.any? { |p| p["pid"] == worker.pid } }
      expect(live).to be(true), "no snapshot from the worker:\n#{File.read(worker.log)}"

      push(3, 0)
      running = eventually(within: 10, every: 0.1) { (v = view).jobs.any? && v.children.any? && v }
      expect(running).to be_truthy
      expect(running.jobs.first).to include("class" => "SlicePagesJob", "queue" => "gazette_spec",
                                            "worker_pid" => worker.pid, "host" => "sidekiq-spec")
      expect(running.children.first["argv"].join(" ")).not_to include("s3cret")
      expect(eventually(within: 10, every: 0.1) { alerts.any? { |a| a["name"] == "long_job" } }).to be(true)

      2.times { push(0, 0) }
      2.times { push(0, 1) }
      done = eventually(within: 15, every: 0.1) do
        (v = view).summary(3600)["counts"].values_at("ok", "exit_error") == [3, 2] && v.jobs.empty? && v
      end
      expect(done).to be_truthy, "windows: #{view.summary(3600)["counts"]}\n#{File.read(worker.log)}"
      expect(done.dead_recent).to eq(2)
      fired = eventually(within: 5, every: 0.1) { alerts.any? { |a| a["name"] == "dead_jobs" } }
      expect(fired).to be(true)
      # Evaluated in the tick after the snapshot that showed no job.
      long_job = eventually(within: 5, every: 0.1) do
        states = alerts.select { |a| a["name"] == "long_job" }.map { |a| a["state"] }
        states if states.size >= 2
      end
      expect(long_job).to eq(%w[firing cleared])
      expect(alerts.find { |a| a["name"] == "dead_jobs" }).to include("state" => "firing", "value" => 2)
      expect(view.alert_report.find { |a| a["name"] == "dead_jobs" }).to include("firing" => true)

      GazetteRunner::Web.register_sidekiq_tab # no Redis given: Sidekiq's pool
      get "/gazette"
      expect(last_response.status).to eq(200)
      expect(last_response.body).to include("gazette_runner job health", "sidekiq-spec", worker.pid.to_s)
      expect(last_response.body).to include(%(data-alert="dead_jobs" data-firing="true"))
      get "/gazette/stats.json"
      expect(JSON.parse(last_response.body)["last_hour"]["counts"]).to include("ok" => 3, "exit_error" => 2)
    ensure
      status = stop_sidekiq(worker)
      Sidekiq::Web.tabs.delete("Gazette")
    end
    expect(status&.exitstatus).to eq(0), File.read(worker.log)
    expect(File.read(worker.log)).not_to include("publishing failed")
    # Sidekiq's :shutdown event stopped the publisher, which withdrew the snapshot.
    expect(view.processes).to eq([])
  end
end
