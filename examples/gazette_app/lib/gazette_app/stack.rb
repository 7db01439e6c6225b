# frozen_string_literal: true

require "fileutils"
require "redis"
require "rbconfig"
require_relative "loopback"
require_relative "process_info"

module GazetteApp
  # Starts and stops, by pid, what the app needs around it: a redis-server on a
  # free loopback port and Sidekiq workers on the document_processing queue.
  # Plain Ruby (no Rails, no ActiveRecord), so the replay spec can use it
  # without loading the app into the RSpec process. Every wait is bounded.
  class Stack
    APP_ROOT = File.expand_path("../..", __dir__)
    GEMFILE = File.join(APP_ROOT, "Gemfile")

    attr_reader :dir, :redis_port, :redis_pid

    # Resolves the app's gems offline (Debian's packages); writes Gemfile.lock,
    # which is not committed, so it always matches this machine's packages.
    def self.bundle!
      env = { "BUNDLE_GEMFILE" => GEMFILE }
      return if system(env, "bundle", "check", out: File::NULL, err: File::NULL)
      return if system(env, "bundle", "install", "--local", "--quiet", out: File::NULL)

      raise "bundle install --local failed in #{APP_ROOT} (run bin/setup for the Debian packages)"
    end

    def initialize(dir:, env: {})
      @dir = dir
      @env = env
      @workers = {} # pid => log, in start order
      @started = 0
      @lock = Mutex.new # workers may be started from several threads at once
      FileUtils.mkdir_p(dir)
    end

    # The first worker still running (the only one, unless more were started).
    def worker_pid = @workers.keys.first

    def worker_pids = @workers.keys

    def worker_log(pid = worker_pid) = @workers.fetch(pid)

    def redis_url = "redis://127.0.0.1:#{redis_port}/0"

    # A connection of the caller's own (not Sidekiq's), for checks.
    def redis = @redis ||= Redis.new(url: redis_url, timeout: 5, id: "gazette-observer-#{Process.pid}")

    def start_redis(within: 10)
      server = Loopback.redis_server
      @redis_port = Loopback.free_port
      redis_dir = File.join(dir, "redis")
      FileUtils.mkdir_p(redis_dir)
      @redis_pid = Process.spawn(server, "--port", redis_port.to_s, "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", redis_dir, "--maxclients", "200",
                                 in: File::NULL, out: File.join(dir, "redis.log"), err: %i[child out])
      wait_until(within, "redis-server to answer PING on port #{redis_port}") { Loopback.redis_ping?(redis_port) }
      self
    end

    # A Sidekiq process on the document_processing queue; `shutdown_timeout` is
    # its -t; `env` is added to the stack's for this worker only. Several may run.
    # @return [Integer] its pid
    def start_worker(concurrency:, shutdown_timeout:, env: {}, within: 60)
      number = @lock.synchronize { @started += 1 }
      log = File.join(dir, number == 1 ? "sidekiq.log" : "sidekiq-#{number}.log")
      env = @env.merge(env, "BUNDLE_GEMFILE" => GEMFILE, "REDIS_URL" => redis_url)
      pid = Process.spawn(env, *sidekiq_command(concurrency, shutdown_timeout),
                          chdir: APP_ROOT, in: File::NULL, out: log, err: %i[child out])
      @lock.synchronize { @workers[pid] = log }
      wait_until(within, "the Sidekiq worker to start (see #{log})") { worker_started?(pid) }
      pid
    end

    # TERM, then (past `within`) KILL; returns the exit status.
    def stop_worker(pid = worker_pid, within: 30)
      return unless pid && reaped(pid)

      stop(pid, within)
    end

    # SIGKILL, as the OOM killer or a host failure would: no shutdown, jobs
    # in flight are lost, their slicers orphaned. Returns the exit status.
    def kill_worker(pid)
      reaped(pid) or raise ArgumentError, "#{pid} is not a worker of this stack"
      Process.kill(:KILL, pid)
      Process.wait2(pid).last
    end

    # Forgets a worker (the caller reaped it itself); its log, or nil if it was not one.
    def reaped(pid) = @lock.synchronize { @workers.delete(pid) }

    def stop_redis(within: 10)
      @redis&.close
      @redis = nil
      @redis_pid && stop(@redis_pid, within).tap { @redis_pid = nil }
    end

    def stop_all
      worker_pids.each { |pid| stop_worker(pid) }
      stop_redis
    end

    def running?(pid)
      Process.wait2(pid, Process::WNOHANG).nil?
    rescue Errno::ECHILD
      false
    end

    private

    # Started once its heartbeat is in Redis: Sidekiq's identity is "host:pid:nonce".
    def worker_started?(pid)
      raise "the Sidekiq worker exited at boot:\n#{File.read(worker_log(pid))}" unless running?(pid)

      redis.smembers("processes").any? { |identity| identity.split(":")[1] == pid.to_s }
    end

    def sidekiq_command(concurrency, shutdown_timeout)
      ["bundle", "exec", "sidekiq", "-r", File.join(APP_ROOT, "config", "boot.rb"), "-q", "document_processing",
       "-c", concurrency.to_s, "-t", shutdown_timeout.to_s]
    end

    def stop(pid, within)
      Process.kill(:TERM, pid)
      deadline = monotonic + within
      loop do
        _, status = Process.wait2(pid, Process::WNOHANG)
        return status if status
        break if monotonic > deadline

        sleep 0.05
      end
      Process.kill(:KILL, pid)
      Process.wait2(pid).last
    rescue Errno::ESRCH, Errno::ECHILD
      nil
    end

    def wait_until(within, what)
      deadline = monotonic + within
      until yield
        raise "timed out after #{within} s waiting for #{what}" if monotonic > deadline

        sleep 0.05
      end
    end

    def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end
end
