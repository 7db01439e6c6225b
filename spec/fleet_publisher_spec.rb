# frozen_string_literal: true

require_relative "support/redis_driver"
require "socket"
require "gazette_runner/fleet"

# The publisher's promise: whatever Redis does, jobs never wait for it. Here
# Redis is a loopback port that accepts connections and never answers, the
# worst case (a refused connection fails at once; a silent one costs a timeout).
RSpec.describe GazetteRunner::Fleet::Publisher, :sidekiq do
  around do |example|
    @silent = TCPServer.new("127.0.0.1", 0)
    @held = []
    @acceptor = Thread.new { loop { @held << @silent.accept } }
    example.run
  ensure
    @acceptor&.kill&.join(2)
    @held&.each(&:close)
    @silent&.close
  end

  let(:url) { "redis://127.0.0.1:#{@silent.addr[1]}/0" }
  let(:config) { GazetteRunner::Fleet::Config.new(interval: 0.05, ttl: 1) }

  it "never makes a run wait while Redis hangs, and keeps trying" do
    redis = -> { RedisDriver.connect(url, timeout: 1) }
    publisher = described_class.new(redis:, config:).start
    begin
      eventually(within: 5) { @held.any? } # the publisher is now blocked on a silent connection
      took = elapsed { 20.times { expect(GazetteRunner.run(["true"], timeout: 5)).to be_success } }
      # 20 runs of `true` take well under a second; one wait for Redis would take 1 s.
      expect(took).to be < time_bound(0.9)
      expect(publisher.running?).to be(true)
      expect(eventually(within: 5) { @held.size >= 2 }).to be(true) # it came back for another try
    ensure
      stopped = elapsed { publisher.stop(timeout: 3) }
      expect(stopped).to be < time_bound(6)
    end
  end
end
