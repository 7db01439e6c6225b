# frozen_string_literal: true

require "json"
require "logger"
require "rack/mock"
require "redis"
require "stringio"
require "gazette_runner/web"
require_relative "../support/redis_server"

# What a child writes costs the host a bounded amount wherever the gem keeps
# or forwards it: messages, log lines, Redis, the dashboard (GazetteRunner::Caps).
RSpec.describe "hostile output, bounded cost" do
  caps = GazetteRunner::Caps

  # A child whose stderr carries one PROGRESS line with a 2 MB message, then waits.
  let(:huge_progress) do
    ["sh", "-c", "{ printf 'PROGRESS 50 '; head -c 2000000 /dev/zero | tr '\\0' x; echo; } >&2; exec sleep 5"]
  end

  before do
    @log = StringIO.new
    GazetteRunner.logger = Logger.new(@log)
  end

  after { GazetteRunner::Instrumentation.default_logger! }

  def longest_log_line = @log.string.lines.map(&:bytesize).max

  it "keeps 5 MB of stderr out of the error message and the log: only the tail" do
    error = error_from do
      GazetteRunner.run!(["sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' y >&2; exit 1"], timeout: 10)
    end
    expect(error).to be_a(GazetteRunner::ExitError)
    expect(error.result.stderr.bytesize).to eq(5_000_000)
    expect(error.message.bytesize).to be <= caps::STDERR_TAIL + 100
    expect(error.stderr_tail.bytesize).to be <= caps::STDERR_TAIL
    expect(longest_log_line).to be <= caps::STDERR_TAIL + 300
  end

  it "keeps at most Caps::PROGRESS_MESSAGE bytes of a 2 MB progress message, in the result as in the log" do
    error = error_from { GazetteRunner.run(huge_progress, timeout: 1, kill_after: 0.1) }
    expect(error).to be_a(GazetteRunner::TimeoutError)
    expect(error.result.progress.message.bytesize).to be <= caps::PROGRESS_MESSAGE + 30
    expect(@log.string).to include('"progress":"50% xxx')
    expect(longest_log_line).to be <= caps::PROGRESS_MESSAGE + 1024
  end

  it "cuts every String and Array of a log line" do
    GazetteRunner.run(["true", *Array.new(200) { "z" * 5000 }], timeout: 5)
    start = @log.string.lines.find { |line| line.include?('"start"') }
    expect(start.bytesize).to be <= (caps::LOG_ITEMS * (caps::LOG_VALUE + 50)) + 500
    expect(JSON.parse(start[/\{.*/])["argv"].last).to eq("… (+#{201 - caps::LOG_ITEMS})")
  end

  describe "through the fleet", if: RedisServer.available? do
    before(:all) { @server = RedisServer.new }
    after(:all) { @server&.stop }

    let(:config) { GazetteRunner::Fleet::Config.new(prefix: "amplify:#{rand(1 << 30)}:") }

    it "publishes, shows and serves a 2 MB progress message in a few KB" do
      runner = Thread.new { GazetteRunner.run(huge_progress, timeout: 10) }
      eventually(within: 5) { GazetteRunner.running.any?(&:progress) } or raise "no progress came"
      GazetteRunner::Fleet::Publisher.new(redis: @server.client, config:).publish_once
      snapshot = @server.client.get(config.key("process", "#{config.host}:#{Process.pid}"))
      web = GazetteRunner::Web.new(redis: @server.client, config:)
      page = Rack::MockRequest.new(web).get("/").body
      json = Rack::MockRequest.new(web).get(GazetteRunner::Web::JSON_PATH).body
      expect(snapshot).to include("xxxx")
      expect(snapshot.bytesize).to be < caps::PROGRESS_MESSAGE + 8192
      expect(page.bytesize).to be < caps::PROGRESS_MESSAGE + (16 * 1024) # measured: 6.2 KB
      expect(json.bytesize).to be < (2 * caps::PROGRESS_MESSAGE) + (16 * 1024) # measured: 4.8 KB
    ensure
      GazetteRunner.running.each { |child| Process.kill(:KILL, -child.pid) rescue nil } # rubocop:disable Style/RescueModifier
      runner&.join(5)
    end

    it "gives every key it writes a TTL, the list of processes included" do
      GazetteRunner.run(["true"], timeout: 5)
      GazetteRunner::Fleet::Publisher.new(redis: @server.client, config:).publish_once
      redis = @server.client
      keys = redis.keys("#{config.prefix}*")
      expect(keys).to include(config.key("processes"))
      expect(keys.to_h { |key| [key, redis.pttl(key)] }).to all(satisfy { |_, ttl| ttl.positive? })
    end

    it "reads back at most Caps::SNAPSHOT_ROWS children of a snapshot another writer made huge" do
      child = { "pid" => 2, "argv" => ["x" * 100_000], "started_at" => Time.now.to_f, "bound" => 5,
                "progress" => { "percent" => 1, "message" => "m" * 100_000 } }
      raw = { "id" => "big:1", "host" => "big", "pid" => 1, "at" => Time.now.to_f, "children" => [child] * 200 }
      @server.client.set(config.key("process", "big:1"), JSON.generate(raw), px: 10_000)
      @server.client.zadd(config.key("processes"), raw["at"], "big:1")
      view = GazetteRunner::Fleet.view(@server.client, config)
      expect(view.children.size).to eq(caps::SNAPSHOT_ROWS)
      expect(JSON.generate(view.children).bytesize)
        .to be < caps::SNAPSHOT_ROWS * (caps::ARGUMENT + caps::PROGRESS_MESSAGE + 300)
    end
  end

  it "stores a snapshot past Caps::SNAPSHOT_BYTES without its lists, keeping the counts" do
    rows = Array.new(caps::SNAPSHOT_ROWS) { { "argv" => ["a" * caps::ARGUMENT] * 20 } }
    snapshot = { "id" => "h:1", "children" => rows, "children_total" => 500, "jobs" => [], "breakers" => [] }
    stored = JSON.parse(GazetteRunner::Fleet::Snapshot.json(snapshot))
    expect(stored).to include("children" => [], "children_total" => 500, "truncated" => true)
    expect(GazetteRunner::Fleet::Snapshot.json(snapshot.merge("children" => rows.first(1))))
      .not_to include("truncated")
  end

  it "never raises from health(expect:) on output that is not valid UTF-8" do
    health = GazetteRunner.health(["printf", "\\377\\376 ready"], expect: /ready/, timeout: 5)
    expect(health).to be_healthy
    expect(GazetteRunner.health(["printf", "\\377"], expect: /é/, timeout: 5)).not_to be_healthy
    expect(GazetteRunner.health(["printf", "é\\377"], expect: "\xff".b, timeout: 5)).not_to be_healthy
  end

  it "bounds the breakers a process keeps: Caps::BREAKER_NAMES names of Caps::BREAKER_NAME bytes" do
    status, out, err = run_ruby_child(<<~RUBY)
      require "gazette_runner"
      limit = GazetteRunner::Caps::BREAKER_NAMES
      open = GazetteRunner::CircuitBreaker.new("kept open", threshold: 1)
      open.record(false, probe: false)
      (limit * 3).times { |i| GazetteRunner::CircuitBreaker.new("b\#{i}").state }
      names = GazetteRunner::CircuitBreaker.names
      puts "kept \#{names.size}, open one kept: \#{names.include?("kept open") && open.open?}"
      begin
        GazetteRunner::CircuitBreaker.new("n" * (GazetteRunner::Caps::BREAKER_NAME + 1))
      rescue ArgumentError => e
        puts e.message
      end
    RUBY
    expect(status).to be_success, err
    expect(out.lines.map(&:chomp)).to match(["kept 1024, open one kept: true", /at most 256 bytes/])
  end
end
