# frozen_string_literal: true

require "socket"

module GazetteApp
  # A redis-server on this machine's loopback interface, for the stack: where
  # the program is, a free port for it, whether it answers.
  module Loopback
    module_function

    # @return [String] the redis-server program (Debian's first, then PATH)
    def redis_server
      server = ["/usr/bin/redis-server", *ENV.fetch("PATH", "").split(":").map { |d| File.join(d, "redis-server") }]
               .find { |path| File.executable?(path) }
      server or raise "redis-server is not installed: run bin/setup (it installs Debian's redis-server)"
    end

    # @return [Integer] a port nothing listens on right now
    def free_port
      server = TCPServer.new("127.0.0.1", 0)
      server.addr[1]
    ensure
      server&.close
    end

    # @return [Boolean] true when a Redis answers PING on the port, within a second
    def redis_ping?(port)
      Socket.tcp("127.0.0.1", port, connect_timeout: 0.5) do |socket|
        socket.write("PING\r\n")
        socket.wait_readable(0.5) && socket.readpartial(64).start_with?("+PONG")
      end
    rescue SystemCallError, IOError
      false
    end
  end
end
