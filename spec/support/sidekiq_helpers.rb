# frozen_string_literal: true

require "rbconfig"
require "sidekiq"
require "sidekiq/web"
# `rake spec:sidekiq7` names the Sidekiq it put on RUBYLIB: make sure that one loaded.
if (wanted = ENV.fetch("GAZETTE_SPEC_SIDEKIQ", nil)) && wanted != Sidekiq::VERSION
  raise "GAZETTE_SPEC_SIDEKIQ=#{wanted}, but Sidekiq #{Sidekiq::VERSION} loaded from " \
        "#{Object.const_source_location("Sidekiq::VERSION").first} (RUBYLIB=#{ENV.fetch("RUBYLIB", nil).inspect})"
end
# Sidekiq 6.4 calls redis-rb 4.8 methods that warn of their change in redis-rb 5.
Redis.silence_deprecations = true if defined?(Redis) && Redis.respond_to?(:silence_deprecations=)

# The Sidekiq that `require "sidekiq"` loads in the spec process (Debian's
# 6.4.1, or the vendored 7.3.10 under `rake spec:sidekiq7`), in the spec's
# process (its web UI) and as a real worker process (its own bin/sidekiq).
module SidekiqHelpers
  # Rack middleware: Sidekiq 7 reads the pool of the request's thread (set by
  # Sidekiq::Client.via) before its process-wide one, memoized at first use.
  class ViaPool
    def initialize(app, pool)
      @app = app
      @pool = pool
    end

    def call(env) = Sidekiq::Client.via(@pool) { @app.call(env) }
  end

  # bin/sidekiq of the Sidekiq loaded here: a worker of the same version.
  def self.bin = File.expand_path("../../../bin/sidekiq", Object.const_source_location("Sidekiq::VERSION").first)

  # A pool of Sidekiq's own connections (redis-rb under 6.x, redis-client under 7.x).
  def sidekiq_pool(url) = Sidekiq::RedisConnection.create(url:, size: 2)

  # Sidekiq::Web on the Redis at `url`, mounted at `at`, with a session as Sidekiq asks.
  def sidekiq_web(url, at: "/")
    pool = sidekiq_pool(url)
    Sidekiq.redis = pool if Sidekiq.respond_to?(:redis=) # 6.x reads the module's pool
    Sidekiq::Web.redis_pool = pool if Sidekiq::Web.respond_to?(:redis_pool=) # 8.x reads the web's
    Rack::Builder.new do
      use Rack::Session::Cookie, secret: "s" * 64, same_site: true, max_age: 86_400
      use ViaPool, pool
      map(at) { run Sidekiq::Web }
    end
  end

  SidekiqWorker = Struct.new(:pid, :log, keyword_init: true)

  # A real Sidekiq worker process (bin/sidekiq -r spec/support/sidekiq_boot.rb)
  # in a process group of its own; started once its heartbeat is in Redis.
  def start_sidekiq(redis_url, dir:, env: {}, within: 30)
    log = File.join(dir, "sidekiq.log")
    boot = File.expand_path("sidekiq_boot.rb", __dir__)
    pid = Process.spawn({ "REDIS_URL" => redis_url, **env }, RbConfig.ruby, SidekiqHelpers.bin, "-r", boot,
                        "-q", "gazette_spec", "-c", "3", "-t", "2",
                        out: log, err: %i[child out], in: File::NULL, pgroup: true)
    worker = SidekiqWorker.new(pid:, log:)
    pool = sidekiq_pool(redis_url)
    started = eventually(within:, every: 0.1) do
      raise "Sidekiq exited at boot:\n#{File.read(log)}" if Process.wait(pid, Process::WNOHANG)

      pool.with { |redis| redis.call("SMEMBERS", "processes") }.any? { |identity| identity.split(":")[1] == pid.to_s }
    end
    started or (stop_sidekiq(worker) && raise("Sidekiq did not start within #{within} s:\n#{File.read(log)}"))
    worker
  ensure
    pool&.shutdown(&:close)
  end

  # TERM (Sidekiq's shutdown), then KILL of its group past `within` seconds;
  # returns the exit status.
  def stop_sidekiq(worker, within: 10)
    Process.kill(:TERM, worker.pid)
    status = eventually(within:, every: 0.05) { Process.wait2(worker.pid, Process::WNOHANG)&.last }
    return status if status

    Process.kill(:KILL, -worker.pid)
    Process.wait2(worker.pid).last
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  end
end
