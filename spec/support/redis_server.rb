# frozen_string_literal: true

require "socket"
require "tmpdir"
require_relative "redis_driver"

# A redis-server of the spec's own, on a free loopback port, without
# persistence, stopped by its pid. Each wait is bounded.
class RedisServer
  attr_reader :port, :pid

  def self.available? = system("command -v redis-server >/dev/null 2>&1")

  def self.free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  def initialize
    @dir = Dir.mktmpdir("gazette-redis")
    @port = self.class.free_port
    @pid = Process.spawn("redis-server", "--port", port.to_s, "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--dir", @dir, "--protected-mode", "no",
                         out: File::NULL, err: File::NULL, in: File::NULL)
    wait_ready
  end

  def url = "redis://127.0.0.1:#{port}/0"

  # A connection of the spec's driver (redis-rb or redis-client, see RedisDriver).
  def client = RedisDriver.connect(url, timeout: 2)

  def stop
    return unless @pid

    Process.kill(:TERM, @pid)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
    until Process.wait(@pid, Process::WNOHANG)
      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        Process.kill(:KILL, @pid)
        Process.wait(@pid)
        break
      end
      sleep 0.02
    end
    @pid = nil
  rescue Errno::ESRCH, Errno::ECHILD
    @pid = nil
  ensure
    FileUtils.rm_rf(@dir)
  end

  private

  def wait_ready
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
    loop do
      TCPSocket.new("127.0.0.1", port).close
      return
    rescue SystemCallError
      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        raise "redis-server did not start on port #{port} within 10 s"
      end

      sleep 0.02
    end
  end
end
