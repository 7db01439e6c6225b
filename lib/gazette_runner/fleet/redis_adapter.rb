# frozen_string_literal: true

require "digest/sha1"

module GazetteRunner
  module Fleet
    # The Redis commands the fleet uses, over either Ruby client: redis-rb
    # (Sidekiq 6.x) or redis-client (Sidekiq 7.x and 8.x, bare or wrapped in
    # Sidekiq's own adapter). Their command methods differ (`eval(script,
    # keys:, argv:)` is redis-rb's alone; redis-client has no `_client`), but
    # both send a command given as its words with `call(*argv)` and batch
    # them with `pipelined { |pipe| pipe.call(*argv) }`, so every command
    # goes that way, and the one reply that differs is made alike: HGETALL is
    # a flat Array under RESP2 (redis-rb) and a Hash under RESP3 (redis-client).
    # The fleet code calls only this class; {Fleet.with_redis} yields one.
    class RedisAdapter
      # @return [Object] the client it sends commands through
      attr_reader :connection

      # @param connection [Object, RedisAdapter] a redis-rb or redis-client connection, or an adapter
      # @return [RedisAdapter] an adapter over it (the adapter itself when given one)
      def self.wrap(connection) = connection.is_a?(self) ? connection : new(connection)

      # @param connection [Object] a redis-rb `Redis`, a `RedisClient` or a
      #   Sidekiq 7+ connection (anything answering `call` and `pipelined`)
      # @raise [ArgumentError] the object cannot send Redis commands
      def initialize(connection)
        unless connection.respond_to?(:call) && connection.respond_to?(:pipelined)
          raise ArgumentError, "gazette_runner fleet: #{connection.class} is not a Redis connection " \
                               "(a redis-rb or redis-client connection answers call and pipelined)"
        end

        @connection = connection
      end

      # @param key [String]
      # @return [String, nil]
      def get(key) = command("GET", key)

      # @param keys [Array<String>] at least one
      # @return [Array<String, nil>] the values, in the keys' order
      def mget(keys) = command("MGET", *keys)

      # @param key [String]
      # @param value [String]
      # @param seconds [Integer, nil] time to live (EX)
      # @param milliseconds [Integer, nil] time to live (PX)
      # @return [void]
      def set(key, value, seconds: nil, milliseconds: nil)
        command("SET", key, value, *(["EX", seconds] if seconds), *(["PX", milliseconds] if milliseconds))
      end

      # @param keys [Array<String>]
      # @return [Integer] keys removed
      def del(*keys) = command("DEL", *keys)

      # @param key [String]
      # @param seconds [Integer]
      # @return [Boolean] whether the key exists
      def expire(key, seconds) = command("EXPIRE", key, seconds) == 1

      # @param key [String]
      # @param field [String]
      # @return [String, nil]
      def hget(key, field) = command("HGET", key, field)

      # @param key [String]
      # @param fields [Array<String>]
      # @return [Array<String, nil>]
      def hmget(key, *fields) = command("HMGET", key, *fields)

      # @param key [String]
      # @param milliseconds [Integer]
      # @return [Boolean] true when the key exists
      def pexpire(key, milliseconds) = command("PEXPIRE", key, milliseconds) == 1

      # @param key [String]
      # @param score [Numeric]
      # @param member [String]
      # @return [void]
      def zadd(key, score, member) = command("ZADD", key, score, member)

      # @param key [String]
      # @param member [String]
      # @return [void]
      def zrem(key, member) = command("ZREM", key, member)

      # @param key [String]
      # @param start [Integer]
      # @param stop [Integer]
      # @return [Array<String>] members by ascending score
      def zrange(key, start, stop) = command("ZRANGE", key, start, stop)

      # @param key [String]
      # @param min [Numeric, String] a score, or "-inf"
      # @param max [Numeric, String] a score, or "+inf"
      # @return [Integer] members scored between them
      def zcount(key, min, max) = Integer(command("ZCOUNT", key, min, max))

      # @param key [String]
      # @param min [Numeric, String]
      # @param max [Numeric, String]
      # @return [void]
      def zremrangebyscore(key, min, max) = command("ZREMRANGEBYSCORE", key, min, max)

      # @param key [String]
      # @return [Hash{String=>String}] the hash's fields (empty when there is no such key)
      def hgetall(key) = pairs(command("HGETALL", key))

      # HGETALL of many keys in one round trip.
      # @param keys [Array<String>]
      # @return [Array<Hash{String=>String}>] in the keys' order
      def hgetall_each(keys)
        @connection.pipelined { |pipe| keys.each { |key| pipe.call("HGETALL", key) } }.map { |reply| pairs(reply) }
      end

      # @param key [String]
      # @param field [String]
      # @param value [String]
      # @return [void]
      def hset(key, field, value) = command("HSET", key, field, value)

      # @param key [String]
      # @param field [String]
      # @return [void]
      def hdel(key, field) = command("HDEL", key, field)

      # Runs a Lua script: EVALSHA, then EVAL when the server does not have
      # it cached yet (after a restart or SCRIPT FLUSH), which caches it.
      # @param script [String]
      # @param keys [Array<String>]
      # @param argv [Array<#to_s>]
      # @return [Object] the script's reply
      def eval(script, keys: [], argv: [])
        command("EVALSHA", Digest::SHA1.hexdigest(script), keys.size, *keys, *argv)
      rescue StandardError => e
        raise unless e.message.start_with?("NOSCRIPT")

        command("EVAL", script, keys.size, *keys, *argv)
      end

      private

      # Both clients convert Integers, Floats and Strings to the command's words.
      def command(*argv) = @connection.call(*argv)

      def pairs(reply) = reply.is_a?(Hash) ? reply : reply.each_slice(2).to_h
    end
  end
end
