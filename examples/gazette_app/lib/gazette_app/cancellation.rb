# frozen_string_literal: true

require "json"
require "redis"

module GazetteApp
  # Raised into a job's thread when the batch it works for is cancelled.
  #
  # Not a StandardError, for the reason Interrupt and Sidekiq::Shutdown are
  # not: it arrives asynchronously, and a `rescue => e` in the code it
  # interrupts must not swallow it.
  class Cancelled < Exception # rubocop:disable Lint/InheritException -- see above
    # @return [String] the Redis key whose flag said "stop"
    attr_reader :key

    def initialize(key)
      @key = key
      super("cancelled: #{key} says stop")
    end
  end

  # Cancels running work when a flag in Redis says so: one watcher thread per
  # process polls the flags of every guarded block (one pipelined round trip
  # every `interval`, whatever the number of blocks) and raises {Cancelled}
  # into the threads whose flag is set (or whose key is gone).
  #
  # Why a watcher and Thread#raise rather than a line or progress callback: a
  # callback runs only when the program prints, and the program to stop is
  # often the one that hangs and prints nothing. GazetteRunner ends and reaps
  # an interrupted call's process group within min(kill_after, 1 s) before the
  # exception propagates, so the slicer is gone within `interval` plus that.
  #
  # The exception is only ever raised inside {#guard}'s block: outside it the
  # thread defers {Cancelled} (Thread.handle_interrupt), and a raise that races
  # the block's end is delivered as the guard returns, where the caller rescues it.
  class Cancellation
    Entry = Struct.new(:thread, :key, :raised)

    # @param redis [#call] returns a new Redis connection (the watcher's own)
    # @param interval [Float] seconds between polls
    # @param field [String] the hash field holding the flag
    # @param stop_when [Array<String>] values of the field that mean "stop"
    # @param logger [Logger, nil]
    def initialize(redis:, interval:, field:, stop_when:, logger: nil)
      @connect = redis
      @interval = interval
      @field = field
      @stop_when = stop_when
      @logger = logger
      @lock = Mutex.new
      @entries = []
      @watcher = nil
    end

    # Runs the block; raises {Cancelled} into it as soon as `key`'s flag says stop.
    # @param key [String] a Redis hash
    # @return [Object] the block's value
    # @raise [Cancelled] the flag said stop (possibly just after the block returned)
    def guard(key, &)
      Thread.handle_interrupt(Cancelled => :never) do
        entry = register(key)
        begin
          Thread.handle_interrupt(Cancelled => :immediate, &)
        ensure
          @lock.synchronize { @entries.delete(entry) }
        end
      end
    end

    private

    def register(key)
      @lock.synchronize do
        entry = Entry.new(Thread.current, key, false)
        @entries << entry
        @watcher = nil unless @watcher&.alive? # a watcher that died of a bug is replaced
        @watcher ||= Thread.new { watch }.tap { |thread| thread.name = "gazette-cancellation" }
        entry
      end
    end

    # Polls while some block is guarded; the thread (and its connection) ends when none is.
    def watch
      connection = nil
      while (keys = guarded_keys)
        connection = poll(connection, keys)
      end
    ensure
      connection&.close
    end

    # After a pause, the keys to look at; nil (and no watcher any more) when nothing is guarded.
    def guarded_keys
      sleep @interval
      @lock.synchronize do
        @watcher = nil if @entries.empty?
        @watcher && @entries.map(&:key).uniq
      end
    end

    # @return [Redis, nil] the connection to use next time
    def poll(connection, keys)
      connection ||= @connect.call
      cancel(stopped(connection, keys))
      connection
    rescue Redis::BaseError => e
      # A Redis that does not answer cancels nothing; the deadline still bounds the work.
      @logger&.warn(JSON.generate(cancellation: "poll_failed", error: e.class.name, message: e.message))
      connection&.close
      nil
    end

    def stopped(connection, keys)
      flags = connection.pipelined { |pipe| keys.each { |key| pipe.hget(key, @field) } }
      keys.zip(flags).filter_map { |key, flag| key if flag.nil? || @stop_when.include?(flag) }
    end

    def cancel(keys)
      return if keys.empty?

      @lock.synchronize do
        @entries.each do |entry|
          next if entry.raised || !keys.include?(entry.key)

          entry.raised = true
          entry.thread.raise(Cancelled.new(entry.key))
        end
      end
    end
  end
end
