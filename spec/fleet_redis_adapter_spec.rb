# frozen_string_literal: true

require "digest/sha1"
require "gazette_runner/fleet"
require_relative "support/redis_server"
require_relative "support/sidekiq_helpers"

# The adapter against a real redis-server, over the specs' driver (redis-rb,
# or redis-client under `rake spec:sidekiq7`) and over the connections of
# Sidekiq's own pool (redis-rb under 6.x, Sidekiq's redis-client wrapper under 7.x).
RSpec.describe GazetteRunner::Fleet::RedisAdapter, :sidekiq, if: RedisServer.available? do
  include SidekiqHelpers

  before(:all) { @server = RedisServer.new }
  after(:all) { @server&.stop }

  let(:script) { "return {KEYS[1], ARGV[1], #{rand(1 << 30)}}" }

  connections = {
    "the specs' driver (#{RedisDriver.name})" => ->(url) { RedisDriver.connect(url, timeout: 2) },
    "Sidekiq #{Sidekiq::VERSION}'s pool" => ->(url) { Sidekiq::RedisConnection.create(url:, size: 1) }
  }

  connections.each do |label, connect|
    context "over #{label}" do
      def with_adapter(connection, &) = GazetteRunner::Fleet.with_redis(connection, &)

      let(:connection) { connect.call(@server.url) }

      it "answers each command alike, HGETALL as a Hash" do
        with_adapter(connection) do |redis|
          key = "adapter:#{rand(1 << 30)}"
          redis.hset(key, "ok", "3")
          redis.hset(key, "b12", "1")
          expect(redis.hgetall(key)).to eq("ok" => "3", "b12" => "1")
          expect(redis.hgetall_each([key, "#{key}:none"])).to eq([{ "ok" => "3", "b12" => "1" }, {}])
          expect(redis.expire(key, 60)).to be(true)
          redis.set("#{key}:s", "v", milliseconds: 5000)
          expect(redis.get("#{key}:s")).to eq("v")
          expect(redis.mget(["#{key}:s", "#{key}:none"])).to eq(["v", nil])
          redis.zadd("#{key}:z", 1.5, "a")
          redis.zadd("#{key}:z", 2, "b")
          expect(redis.zrange("#{key}:z", 0, -1)).to eq(%w[a b])
          expect(redis.zcount("#{key}:z", 1.6, "+inf")).to eq(1)
          redis.zremrangebyscore("#{key}:z", "-inf", 1.5)
          expect(redis.zrange("#{key}:z", 0, -1)).to eq(%w[b])
          expect(redis.del(key, "#{key}:s", "#{key}:z")).to eq(3)
        end
      end

      it "runs a script by EVALSHA, loading it with EVAL when the server lacks it, and raises its errors" do
        with_adapter(connection) do |redis|
          sha = Digest::SHA1.hexdigest(script)
          expect(redis.eval(script, keys: ["k"], argv: [7])[0, 2]).to eq(%w[k 7])
          expect(redis.connection.call("SCRIPT", "EXISTS", sha)).to eq([1]) # EVAL cached it
          expect(redis.eval(script, keys: ["k2"], argv: ["x"])[0, 2]).to eq(%w[k2 x])
          expect { redis.eval("return redis.call('NOPE')") }.to raise_error(StandardError, /unknown|NOPE/i)
        end
      end
    end
  end

  it "refuses what cannot send Redis commands" do
    expect { described_class.new(-> {}) }.to raise_error(ArgumentError, /Proc is not a Redis connection/)
    expect { GazetteRunner::Fleet.view("redis://localhost") }.to raise_error(ArgumentError, /String is not a Redis/)
  end
end
