# frozen_string_literal: true

require "fileutils"
require "json"
require "net/http"
require "rbconfig"
require "redis"
require "tmpdir"
require_relative "../support/redis_server"

# A Rails 6.1 app from Debian's packages (spec/fixtures/rails_app, copied to
# tmp/): the install generator, then Puma serving it and a Sidekiq 6.4 worker
# process on a redis-server of the spec's own, running an ActiveJob through
# the Sidekiq adapter. Every process it starts runs in a process group of its
# own and is ended by that group; every wait is bounded.
RSpec.describe "gazette_runner in a Rails app", :rails_app do
  root = File.expand_path("../..", __dir__)
  fixture = File.join(root, "spec/fixtures/rails_app")
  secret = "sk_live_4f9c2d"

  def spawn_group(env, *cmd, log:)
    pid = Process.spawn(@env.merge(env), *cmd, chdir: @app, in: File::NULL, out: log, err: %i[child out],
                                               pgroup: true)
    @groups << pid
    pid
  end

  def run_command(*cmd, timeout: 30)
    log = File.join(@app, "command.log")
    pid = spawn_group({}, *cmd, log:)
    status = wait_for(pid, timeout)
    expect(status).to be_success, "#{cmd.join(" ")} failed (#{status.inspect}):\n#{File.read(log)}"
  end

  def wait_for(pid, timeout)
    status = eventually(within: timeout, every: 0.05) { Process.wait2(pid, Process::WNOHANG)&.last }
    raise "pid #{pid} still running after #{timeout} s" unless status

    @groups.delete(pid)
    status
  end

  # TERM to every group first (they stop in parallel), then each leader is
  # waited for up to 10 s, then KILL to whatever is left of its group.
  def stop_groups
    @groups.each { |pgid| kill_quietly_with(:TERM, pgid) }
    @groups.each { |pgid| reap_group(pgid) } # rubocop:disable Style/CombinableLoops -- TERM all before waiting
    @groups.clear
  end

  def reap_group(pgid)
    eventually(within: 10, every: 0.05) { Process.wait(pgid, Process::WNOHANG) }
  rescue Errno::ECHILD
    nil
  ensure
    kill_quietly_with(:KILL, pgid)
  end

  def kill_quietly_with(signal, pgid)
    Process.kill(signal, -pgid)
  rescue Errno::ESRCH, Errno::EPERM
    nil
  end

  def http_get(path)
    Net::HTTP.start("127.0.0.1", @port, open_timeout: 2, read_timeout: 10) { |http| http.get(path) }
  end

  def answered(path)
    http_get(path)
  rescue SystemCallError, Net::OpenTimeout
    nil
  end

  def log_lines(path) = File.exist?(path) ? File.readlines(path, chomp: true) : []

  def gazette_lines(what)
    lines = log_lines(@env["APP_LOG"]).filter_map { |line| line[/\{"gazette_runner":.*\}/] }
    lines.map { |line| JSON.parse(line) }.select { |line| line["gazette_runner"] == what }
  end

  around do |example|
    skip "redis-server is not installed" unless RedisServer.available?
    FileUtils.mkdir_p(File.join(root, "tmp"))
    Dir.mktmpdir("rails-app-", File.join(root, "tmp")) do |dir|
      @app = File.join(dir, "app")
      FileUtils.cp_r(fixture, @app)
      @groups = []
      @redis = RedisServer.new
      @port = RedisServer.free_port
      @env = { "GAZETTE_RUNNER_LIB" => File.join(root, "lib"), "APP_LOG" => File.join(@app, "app.log"),
               "EVENTS_LOG" => File.join(@app, "events.log"), "REDIS_URL" => @redis.url,
               "RAILS_ENV" => "development", "RUBYOPT" => nil, "RUBYLIB" => nil, "BUNDLE_GEMFILE" => nil }
      example.run
    ensure
      stop_groups
      @redis&.stop
    end
  end

  it "generates the initializer, tags a Sidekiq-run ActiveJob's runs, filters argv, layers retries, shows the tab" do
    run_command(RbConfig.ruby, "bin/rails", "generate", "gazette_runner:install")
    initializer = File.read(File.join(@app, "config/initializers/gazette_runner.rb"))
    expect(initializer).to include("# config.gazette_runner.default_timeout = 60", "config.filter_parameters")
    # The settings go through the generated file: uncommented, they must take effect.
    File.write(File.join(@app, "config/initializers/gazette_runner.rb"),
               initializer.sub("# config.gazette_runner.fleet.long_job_seconds = 20 * 60",
                               "config.gazette_runner.fleet.interval = 0.5"))

    worker = spawn_group({}, RbConfig.ruby, "-S", "sidekiq", "-r", @app, "-c", "2", "-q", "default",
                         log: File.join(@app, "sidekiq.log"))
    spawn_group({}, RbConfig.ruby, "-S", "puma", "-b", "tcp://127.0.0.1:#{@port}", "-t", "1:2", "config.ru",
                log: File.join(@app, "puma.log"))
    up = eventually(within: 30, every: 0.1) { answered("/sidekiq/") }
    expect(up).not_to be_nil, "puma did not answer within 30 s:\n#{File.read(File.join(@app, "puma.log"))}"

    response = Net::HTTP.start("127.0.0.1", @port, read_timeout: 10) do |http|
      http.post("/slices?api_key=#{secret}", "")
    end
    expect(response.code).to eq("200"), response.body
    ids = JSON.parse(response.body)

    done = eventually(within: 30, every: 0.1) { log_lines(@env["APP_LOG"]).grep(/slice_job_done/).first }
    expect(done).to include("stdout=sliced progress=[50]"),
                    "the job did not finish within 30 s:\n#{File.read(File.join(@app, "sidekiq.log"))}"

    start = gazette_lines("start").find { |line| line["job_id"] == ids["job_id"] }
    expect(start).to include("job_class" => "SliceJob", "jid" => ids["jid"], "queue" => "default")
    expect(start["argv"].last(2)).to eq(["--api-key", "[FILTERED]"])
    expect(File.read(@env["APP_LOG"])).not_to include(secret)
    finish = gazette_lines("finish").find { |line| line["job_id"] == ids["job_id"] }
    expect(finish).to include("outcome" => "ok", "jid" => ids["jid"], "progress" => "50% page 1 of 2")

    event = log_lines(@env["EVENTS_LOG"]).map { |line| JSON.parse(line) }.find { |line| line["pid"] == worker }
    expect(event).to include("outcome" => "ok")
    expect(event["job"]).to eq("job_class" => "SliceJob", "job_id" => ids["job_id"], "jid" => ids["jid"],
                               "queue" => "default")

    # The three retry layers: ActiveJob's retry_on (2 attempts, no block), then
    # Sidekiq's retry on the JobWrapper, or its Dead set with retry: 0.
    failing = Net::HTTP.start("127.0.0.1", @port, read_timeout: 10) { |http| http.post("/failing", "") }
    expect(failing.code).to eq("200"), failing.body
    redis = @redis.client
    landed = eventually(within: 30, every: 0.2) do
      retried = redis.zrange("retry", 0, -1).map { |job| JSON.parse(job) }
      dead = redis.zrange("dead", 0, -1).map { |job| JSON.parse(job) }
      [retried, dead] if retried.any? && dead.any?
    end
    expect(landed).not_to be_nil, "no job reached Sidekiq's retry and dead sets:\n" \
                                  "#{File.read(File.join(@app, "sidekiq.log")).lines.last(30).join}"
    retried, dead = landed
    expect(retried.map { |job| job["wrapped"] }).to eq(["ExhaustedJob"])
    expect(retried.first).to include("retry" => true, "retry_count" => 0, "error_class" => "GazetteRunner::ExitError")
    expect(dead.map { |job| job["wrapped"] }).to eq(["DeadJob"])
    events = log_lines(@env["EVENTS_LOG"]).map { |line| JSON.parse(line) }
    runs = events.select { |line| line["outcome"] == "exit_error" }
    expect(runs.map { |line| line.dig("job", "job_class") }.tally).to eq("ExhaustedJob" => 2, "DeadJob" => 2)
    redis.close

    # The worker's publisher (installed by the Railtie) reaches the tab.
    page = eventually(within: 15, every: 0.2) do
      body = http_get("/sidekiq/gazette").body
      body if body.include?(">#{worker}<")
    end
    expect(page).to include("gazette_runner job health"), "the tab never listed worker #{worker}"
    expect(http_get("/sidekiq/").body).to include(%(href="/sidekiq/gazette"))
  end
end
