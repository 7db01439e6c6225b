# frozen_string_literal: true

require "json"
require "logger"
require "rack/mock"
require "redis"
require "stringio"
require "gazette_runner/web"
require_relative "../support/redis_server"

# [arguments, the secret in them], one per shape the gem hides.
module HostileSecrets
  SHAPES = {
    "--api-key VALUE" => [["--api-key", "SEKRIT-flag-value"], "SEKRIT-flag-value"],
    "--api-key=VALUE" => [["--api-key=SEKRIT-flag-equals"], "SEKRIT-flag-equals"],
    "--key VALUE" => [["--key", "SEKRIT-key"], "SEKRIT-key"],
    "?api_key=" => [["https://api.example.com/v1?api_key=SEKRIT-query&page=2"], "SEKRIT-query"],
    "&token=" => [["https://api.example.com/v1?page=2&token=SEKRIT-amp-token"], "SEKRIT-amp-token"],
    "-u user:pass" => [["-u", "bob:SEKRIT-user-pass"], "SEKRIT-user-pass"],
    "user:pass@ in a URL" => [["https://bob:SEKRIT-userinfo@example.com/a"], "SEKRIT-userinfo"],
    "a second URL in one argument" => [["a=https://example.com/,b=https://al:SEKRIT-second@example.org/"],
                                       "SEKRIT-second"],
    "Authorization: Bearer" => [["-H", "Authorization: Bearer SEKRIT-bearer"], "SEKRIT-bearer"],
    "X-Api-Key header" => [["-H", "X-Api-Key: SEKRIT-header"], "SEKRIT-header"],
    "KEY=VALUE (password)" => [["DB_PASSWORD=SEKRIT-env-style"], "SEKRIT-env-style"],
    "KEY=VALUE (secret key)" => [["AWS_SECRET_ACCESS_KEY=SEKRIT-aws"], "SEKRIT-aws"],
    "KEY=VALUE (token)" => [["GITHUB_TOKEN=SEKRIT-gh"], "SEKRIT-gh"],
    "-pSECRET (mysql)" => [["-pSEKRIT-glued"], "SEKRIT-glued"]
  }.freeze
  SECRETS = SHAPES.values.map(&:last).freeze
  # Ordinary arguments that must come through untouched.
  PLAIN = ["--pages", "1-5", "/tmp/secret/a.pdf", "--out=/srv/out"].freeze
end

# Secrets given to a program on its command line never leave the process:
# not through the log, ActiveSupport events, Redis, the dashboard or an error
# message. Each shape the gem hides carries a distinct marker, so a leak says
# which shape leaked.
RSpec.describe "secrets in argv", :scratch_dir do
  before do
    @log = StringIO.new
    GazetteRunner.logger = Logger.new(@log)
    # A program called mysql (a link to sh), so that -p is its password flag.
    @mysql = File.join(@dir, "mysql")
    File.symlink("/bin/sh", @mysql)
  end

  after { GazetteRunner::Instrumentation.default_logger! }

  def argv(script) = [@mysql, "-c", script, *HostileSecrets::SHAPES.values.flat_map(&:first), *HostileSecrets::PLAIN]

  def leaked(text) = HostileSecrets::SECRETS.select { |secret| text.include?(secret) }

  it "hides every shape from the start line, and nothing else" do
    GazetteRunner.run(argv("exit 0"), timeout: 5)
    start = JSON.parse(@log.string.lines.grep(/"start"/).first[/\{.*/])
    expect(leaked(@log.string)).to eq([])
    expect(start["argv"]).to include(*HostileSecrets::PLAIN, "--api-key", "[redacted]", "-u", "bob:[redacted]",
                                     "https://[redacted]@example.com/a", "Authorization: [redacted]",
                                     "DB_PASSWORD=[redacted]", "-p[redacted]")
  end

  it "logs raw argv only when told to" do
    GazetteRunner::Redaction.configure(log_raw_argv: true)
    GazetteRunner.run(argv("exit 0"), timeout: 5)
    expect(leaked(@log.string)).to eq(HostileSecrets::SECRETS)
  ensure
    GazetteRunner::Redaction.reset!
  end

  it "hides them from events and ActiveSupport payloads" do
    require "active_support"
    require "active_support/notifications"
    payloads = []
    as = ActiveSupport::Notifications.subscribe(GazetteRunner::Event::NAME) { |*, payload| payloads << payload }
    events = events_of { error_from { GazetteRunner.run!(argv("exit 3"), timeout: 5) } }
    expect(payloads.size).to eq(1)
    expect(leaked(payloads.first[:argv].join(" ") + payloads.first.inspect)).to eq([])
    expect(leaked(events.first.argv.join(" ") + events.first.inspect + events.first.error.message)).to eq([])
  ensure
    ActiveSupport::Notifications.unsubscribe(as) if as
  end

  it "hides them from error messages" do
    errors = [error_from { GazetteRunner.run!(argv("echo oops >&2; exit 3"), timeout: 5) },
              error_from { GazetteRunner.run(argv("sleep 5"), timeout: 0.2, kill_after: 0.1) },
              error_from { GazetteRunner.run_json(argv("echo '{'"), timeout: 5) }]
    expect(errors.map(&:class)).to eq([GazetteRunner::ExitError, GazetteRunner::TimeoutError,
                                       GazetteRunner::InvalidJsonError])
    expect(leaked(errors.map(&:message).join(" ") + errors.map(&:inspect).join(" "))).to eq([])
  end

  it "hides the secrets of extra keys and flags given to configure" do
    GazetteRunner::Redaction.configure(keys: [/\Adsn\z/i, "conn"], flags: %w[-Z])
    shown = GazetteRunner::Redaction.argv(%w[tool --dsn SEKRIT-1 conn=SEKRIT-2 -ZSEKRIT-3 -Z SEKRIT-4 --pages 2])
    expect(shown).to eq(["tool", "--dsn", "[redacted]", "conn=[redacted]", "-Z[redacted]", "-Z", "[redacted]",
                         "--pages", "2"])
  ensure
    GazetteRunner::Redaction.reset!
  end

  it "never shows an env value, not even in the error for a NUL in it" do
    error = error_from { GazetteRunner.run(%w[true], env: { "API_TOKEN" => "SEKRIT-env\0value" }) }
    expect(error).to be_a(ArgumentError)
    expect(error.message).to include("API_TOKEN")
    expect(error.message).not_to include("SEKRIT-env")
  end

  describe "through the fleet", if: RedisServer.available? do
    before(:all) { @server = RedisServer.new }
    after(:all) { @server&.stop }

    let(:config) { GazetteRunner::Fleet::Config.new(prefix: "secrets:#{rand(1 << 30)}:", argv_shown: 100) }

    it "hides them from Redis, the page and stats.json while the program runs" do
      runner = Thread.new { GazetteRunner.run(argv("echo 'PROGRESS 5 working' >&2; exec sleep 5"), timeout: 10) }
      eventually(within: 5) { GazetteRunner.running.any?(&:progress) } or raise "no child"
      GazetteRunner::Fleet::Publisher.new(redis: @server.client, config:).publish_once
      redis = @server.client
      stored = redis.keys("#{config.prefix}*").map { |key| [key, redis.type(key) == "string" ? redis.get(key) : ""] }
      expect(stored.map(&:last).join).to include("--pages", "1-5", "[redacted]")
      web = GazetteRunner::Web.new(redis: @server.client, config:)
      page = Rack::MockRequest.new(web).get("/").body
      json = Rack::MockRequest.new(web).get(GazetteRunner::Web::JSON_PATH).body
      expect(page).to include("--pages 1-5")
      expect(leaked(stored.join + page + CGI.unescapeHTML(page) + json)).to eq([])
    ensure
      GazetteRunner.running.each { |child| Process.kill(:KILL, -child.pid) rescue nil } # rubocop:disable Style/RescueModifier
      runner&.join(5)
    end

    it "redacts again what another publisher wrote unredacted, when the page reads it" do
      raw = { "id" => "old:1", "host" => "old", "pid" => 1, "at" => Time.now.to_f, "rss" => 1, "fds" => 1,
              "jobs" => [], "breakers" => [], "stats" => nil,
              "children" => [{ "pid" => 2, "argv" => argv("x"), "started_at" => Time.now.to_f, "bound" => 5 }] }
      @server.client.set(config.key("process", "old:1"), JSON.generate(raw), px: 10_000)
      @server.client.zadd(config.key("processes"), raw["at"], "old:1")
      web = GazetteRunner::Web.new(redis: @server.client, config:)
      body = ["/", GazetteRunner::Web::JSON_PATH].map { |path| Rack::MockRequest.new(web).get(path).body }.join
      expect(body).to include("--pages")
      expect(leaked(body)).to eq([])
    end
  end

  it "answers 503 with no detail, and logs the cause with its credentials hidden" do
    failing = -> { raise Redis::CannotConnectError, "cannot reach redis://:SEKRIT-redis@10.1.2.3:6379/0" }
    response = Rack::MockRequest.new(GazetteRunner::Web.new(redis: failing)).get("/")
    expect(response.status).to eq(503)
    expect(response.body).to eq(GazetteRunner::Web::UNAVAILABLE)
    expect(response.body).not_to include("10.1.2.3")
    expect(@log.string).to include("10.1.2.3", "Redis::CannotConnectError")
    expect(@log.string).not_to include("SEKRIT-redis")
  end
end
