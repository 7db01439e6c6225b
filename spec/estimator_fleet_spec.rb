# frozen_string_literal: true

require "json"
require "redis"
require "gazette_runner/fleet"
require "gazette_runner/web/estimates"
require_relative "support/redis_server"

# Estimators of several processes share what they learn through a real
# redis-server: each learns from all, a restart loses nothing, concurrent
# writers lose no run, and a failed sync keeps its runs for the next one.
RSpec.describe GazetteRunner::Fleet::EstimatorSync, if: RedisServer.available? do
  around do |example|
    @server = RedisServer.new
    example.run
  ensure
    @server&.stop
  end

  let(:redis) { @server.client }
  let(:config) { GazetteRunner::Fleet::Config.new(prefix: "spec:") }
  let(:key) { "spec:estimator:slicer" }

  def estimator = GazetteRunner::Estimator.new("slicer", min_runs: 10)

  def sync(est, client = @server.client) = described_class.new(est, redis: client, config:, interval: 0.1)

  def stored_runs = JSON.parse(redis.hget(key, "state"))["runs"]

  it "lets every worker learn from all, and a restarted one start from what the fleet knows" do
    small = estimator
    large = estimator
    small_sync = sync(small)
    large_sync = sync(large)
    50.times { |i| small.observe(size: 2 + (i % 5), duration: 2.0 + (i % 3 * 0.1)) }
    50.times { |i| large.observe(size: 400 + (i % 7), duration: 80.0 + (i % 3)) }

    expect([small_sync.sync_once, large_sync.sync_once, small_sync.sync_once]).to all(be(true))
    expect(small.runs).to eq(100)
    expect(large.runs).to eq(100)
    expect(stored_runs).to eq(100)
    [small, large].each do |est|
      expect(est.predict(size: 3).p50).to be_within(0.4).of(2.1)
      expect(est.predict(size: 403).p50).to be_within(10).of(81)
    end
    expect(redis.ttl(key)).to be_between(29 * 24 * 3600, described_class::TTL)

    restarted = estimator
    expect(sync(restarted).sync_once).to be(true)
    expect(restarted.runs).to eq(100)
    expect(restarted.predict(size: 403).p50).to be_within(10).of(81)
    expect(stored_runs).to eq(100) # loading wrote nothing
  end

  it "loses no run when processes write at once" do
    code = <<~RUBY
      require "redis"
      require "gazette_runner/fleet"
      est = GazetteRunner::Estimator.new("slicer", min_runs: 10)
      sync = GazetteRunner::Fleet::EstimatorSync.new(est, redis: Redis.new(url: ARGV[0]),
               config: GazetteRunner::Fleet::Config.new(prefix: "spec:"), interval: 0.1)
      300.times do |i|
        est.observe(size: 1 + (i % 50), duration: 1.0 + (i % 50) * 0.1)
        sync.sync_once if i % 10 == 9
      end
      exit(sync.sync_once ? 0 : 1)
    RUBY
    lib = File.expand_path("../lib", __dir__)
    pids = Array.new(3) { Process.spawn(RbConfig.ruby, "-I", lib, "-e", code, @server.url, in: File::NULL) }
    statuses = pids.map { |pid| bounded_wait(pid, time_bound(30)) }
    expect(statuses).to all(be_success)
    expect(stored_runs).to eq(900)
  ensure
    pids&.each { |pid| kill_pid(pid) }
  end

  it "keeps the runs of a failed sync for the next one" do
    est = estimator
    dead = Redis.new(url: "redis://127.0.0.1:#{RedisServer.free_port}/0", connect_timeout: 0.2)
    failing = sync(est, dead)
    20.times { est.observe(size: 10, duration: 5) }
    expect(failing.sync_once).to be(false)
    expect(failing.last_error).to be_a(Redis::CannotConnectError)

    working = sync(est)
    expect(working.sync_once).to be(true)
    expect(working.last_error).to be_nil
    expect(stored_runs).to eq(20)
  end

  it "syncs on a thread of its own every interval, and once more when stopped" do
    est = estimator
    syncer = sync(est).start
    expect(syncer).to be_running
    10.times { est.observe(size: 10, duration: 5) }
    expect(eventually(within: time_bound(3)) { redis.hget(key, "state") && stored_runs == 10 }).to be(true)
    5.times { est.observe(size: 10, duration: 5) }
    syncer.stop
    expect(syncer).not_to be_running
    expect(stored_runs).to eq(15)
  end

  it "refuses a fleet state of other settings, and keeps its runs" do
    sync(GazetteRunner::Estimator.new("slicer", half_life: 50).tap { |e| e.observe(size: 1, duration: 1) }).sync_once
    est = estimator
    syncer = sync(est)
    est.observe(size: 1, duration: 1)
    expect(syncer.sync_once).to be(false)
    expect(syncer.last_error).to be_a(ArgumentError)
    expect(stored_runs).to eq(1)
  end

  it "publishes runs in flight with their ETA and the last runs for the dashboard" do
    est = GazetteRunner::Estimator.new("slicer", min_runs: 10, min: 3)
    20.times { est.observe(size: 3, duration: 0.2) }
    syncer = sync(est)
    web = GazetteRunner::Web::Estimates.new(redis:, names: ["slicer"], config:)
    runner = Thread.new { est.run(size: 3) { |bound| GazetteRunner.run(%w[sleep 1], timeout: bound) } }
    expect(eventually(within: time_bound(2)) { GazetteRunner::Estimator::Watch.count == 1 }).to be(true)
    sleep 0.4 # past its p99 (0.2 s)
    syncer.sync_once

    estimate = GazetteRunner::Fleet::EstimatorSync.read(redis, "slicer", config:)
    expect(estimate["state"]["runs"]).to eq(20)
    running = estimate["processes"].first["running"]
    expect(running.size).to eq(1)
    expect(running.first).to include("size" => 3, "slower_than_learned" => true)
    status, headers, body = web.call("PATH_INFO" => "/", "SCRIPT_NAME" => "/estimates")
    expect([status, headers["content-type"]]).to eq([200, "text/html; charset=utf-8"])
    expect(body.join).to include("20 runs learned", "Running now", "slower than learned")

    runner.join(time_bound(5))
    syncer.sync_once
    status, _, body = web.call("PATH_INFO" => "/estimates.json")
    recent = JSON.parse(body.join).first["processes"].first["recent"]
    expect(status).to eq(200)
    expect(recent.last).to include("size" => 3, "outcome" => "ok")
    expect(recent.last["duration"]).to be >= 1.0
    expect(recent.last["predicted_p50"]).to be_within(0.05).of(0.2)
    expect(JSON.parse(body.join).first["processes"].first["running"]).to be_empty
    expect(redis.ttl("spec:estimator:slicer:process:#{GazetteRunner::Fleet.config.host}:#{Process.pid}")).to be_between(
      1, 1
    )
  ensure
    runner&.join(time_bound(5))
  end
end
