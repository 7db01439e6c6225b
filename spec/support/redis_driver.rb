# frozen_string_literal: true

# The Ruby Redis client the fleet and dashboard specs connect with: redis-rb
# (Sidekiq 6's, Debian's redis 4.8) by default, redis-client (Sidekiq 7's and
# 8's) when GAZETTE_SPEC_REDIS=redis-client, as `rake spec:sidekiq7` sets it
# with the vendored gems on RUBYLIB. Both go through Fleet::RedisAdapter.
module RedisDriver
  NAMES = %w[redis-rb redis-client].freeze

  def self.name
    ENV.fetch("GAZETTE_SPEC_REDIS", "redis-rb").tap do |name|
      raise ArgumentError, "GAZETTE_SPEC_REDIS=#{name}: expected one of #{NAMES.join(", ")}" unless NAMES.include?(name)
    end
  end

  # A new connection to `url`, every timeout `timeout` seconds, never retried.
  def self.connect(url, timeout: 1)
    if name == "redis-client"
      require "redis_client"
      RedisClient.config(url:, connect_timeout: timeout, read_timeout: timeout, write_timeout: timeout,
                         reconnect_attempts: 0).new_client
    else
      require "redis"
      Redis.new(url:, connect_timeout: timeout, read_timeout: timeout, write_timeout: timeout, reconnect_attempts: 0)
    end
  end
end
