# frozen_string_literal: true

require "tmpdir"
require "gazette_runner/fleet"
require_relative "support/redis_server"
require_relative "support/fleet_helpers"

# Three worker processes publish to one redis-server; the view merges them,
# forgets a killed one after its TTL, and alerts fire and clear once.
RSpec.describe GazetteRunner::Fleet, :sidekiq, if: RedisServer.available? do
  include FleetHelpers

  around do |example|
    Dir.mktmpdir("gazette-fleet") do |dir|
      @dir = dir
      @server = RedisServer.new
      example.run
    ensure
      @server&.stop
    end
  end

  let(:redis) { @server.client }
  let(:config) { GazetteRunner::Fleet::Config.new(interval: 0.3, ttl: 1.2) }

  def view = described_class.view(redis, config)

  def child_pids(host) = view.children.select { |c| c["host"] == host }.map { |c| c["pid"] }

  it "merges three workers, forgets a killed one after its TTL, and fires and clears an alert once" do
    workers = %w[alpha beta gamma].to_h { |host| [host, start_worker(@server.url, dir: @dir, host:, children: 2)] }
    children = {}
    begin
      merged = eventually(within: 10, every: 0.1) do
        v = view
        # Each child is listed as soon as it starts, its progress line follows,
        # and a breaker is reported once a run that used it has ended.
        v if v.processes.size == 3 && v.children.size == 6 && v.jobs.size == 3 &&
             v.children.all? { |c| c["progress"] } && v.processes.all? { |p| p["breakers"]&.any? }
      end
      expect(merged).to be_truthy
      expect(merged.processes.map { |p| p["host"] }).to eq(%w[alpha beta gamma])
      expect(merged.children.map { |c| c["progress"]["message"] }).to all(start_with("slicing page"))
      expect(merged.children.flat_map { |c| c["argv"] }.join(" ")).not_to include("s3cret")
      expect(merged.jobs.map { |j| j["class"] }.uniq).to eq(["DocumentProcessingJob"])
      expect(merged.breakers.map { |b| b["name"] }).to eq(["slicer"])
      expect(merged.breakers.first["states"]).to eq("closed" => 3)
      expect(merged.summary(3600)["counts"]["ok"]).to eq(3) # one `true` per worker
      workers.each_key { |host| children[host] = child_pids(host) }

      # A crash: no goodbye, the snapshot expires.
      Process.kill(:KILL, workers["alpha"].pid)
      reap(workers["alpha"].pid, 5)
      children.delete("alpha").each { |pid| signal(:KILL, -pid) }
      gone = eventually(within: 5, every: 0.1) { view.processes.map { |p| p["host"] } == %w[beta gamma] }
      expect(gone).to be(true)
      expect(view.summary(3600)["counts"]["ok"]).to eq(3) # its runs still count

      # Three jobs in the dead set: the alert fires once, fleet-wide; then clears once.
      now = Time.now.to_f
      3.times { |i| redis.call("ZADD", "dead", now - i, "{\"jid\":\"dead-#{i}\"}") }
      fired = eventually(within: 5, every: 0.1) do
        workers.values.flat_map(&:alerts).any? { |a| a["name"] == "dead_jobs" && a["state"] == "firing" }
      end
      expect(fired).to be(true)
      expect(view.alert_report.find { |a| a["name"] == "dead_jobs" }).to include("firing" => true, "value" => 3)
      redis.call("DEL", "dead")
      cleared = eventually(within: 5, every: 0.1) do
        workers.values.flat_map(&:alerts).any? { |a| a["name"] == "dead_jobs" && a["state"] == "cleared" }
      end
      expect(cleared).to be(true)
      sleep 1 # a few more evaluations: nothing fires twice
      dead_alerts = workers.values.flat_map(&:alerts).select { |a| a["name"] == "dead_jobs" }
      expect(dead_alerts.map { |a| a["state"] }).to eq(%w[firing cleared])
      expect(dead_alerts.map { |a| a["threshold"] }).to eq([3, 3])
    ensure
      workers.each { |host, worker| stop_worker(worker, child_pids: children.fetch(host, [])) }
    end
  end
end
