# frozen_string_literal: true

require "rack"
require "socket"

# A one-connection-at-a-time HTTP/1.0 server for a Rack app, on a free
# loopback port, in a thread of the spec's process: enough for a headless
# browser to load a page, and no web server package to install.
class TinyHttp
  attr_reader :port

  def initialize(app)
    @app = app
    @server = TCPServer.new("127.0.0.1", 0)
    @port = @server.addr[1]
    @thread = Thread.new { loop { serve(@server.accept) } }
  end

  def url(path) = "http://127.0.0.1:#{port}#{path}"

  def stop
    @thread.kill.join(2)
    @server.close
  end

  private

  def serve(socket)
    method, target = socket.gets.to_s.split
    nil while (line = socket.gets) && line != "\r\n"
    status, headers, body = @app.call(Rack::MockRequest.env_for(target || "/", method: method || "GET"))
    socket.write("HTTP/1.0 #{status} OK\r\n")
    headers.each { |name, value| socket.write("#{name}: #{value}\r\n") unless name.casecmp?("content-length") }
    socket.write("connection: close\r\n\r\n")
    body.each { |chunk| socket.write(chunk) }
    body.close if body.respond_to?(:close)
  rescue StandardError => e
    warn "TinyHttp: #{e.class}: #{e.message}"
  ensure
    socket.close
  end
end
