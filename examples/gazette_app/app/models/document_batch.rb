# frozen_string_literal: true

require "digest"
require "json"

# The fan-in state of a gazette sliced in page ranges by several jobs, kept in
# the Redis the app already runs (no other server, no Sidekiq Pro batches).
#
# One hash per document, `gazette_app:batch:<document id>`, holds the batch
# (`state`: running, finalizing, done or failed; chunks done and total; the
# deadline) and each chunk `c<i>:…` (range, flags, state: pending, running,
# done, failed, cancelled or skipped; times; files). A sorted set,
# `gazette_app:batches`, lists the batches by deadline for the status page.
#
# Every change is one Lua script, so it is atomic: a chunk is claimed once,
# whatever Sidekiq delivers twice; the last chunk done moves the batch to
# `finalizing` exactly once; the first failure moves it to `failed` exactly
# once (which is the cancel flag the running chunks watch). Times are Redis's
# clock (`TIME`), so chunks on several hosts agree. Every key gets a TTL when
# it is created (the deadline plus {KEEP}), and no script ever creates a key
# again once it has expired.
class DocumentBatch
  PREFIX = "gazette_app:"
  INDEX = "#{PREFIX}batches".freeze
  # How long a batch stays readable after its deadline (status page, late duplicates).
  KEEP = 3600
  # Batch states in which the running chunks must stop.
  CANCELLED = %w[failed].freeze

  # The Lua scripts (document_batch/*.lua), by name: [source, SHA1]. Each starts with now_ms().
  SCRIPTS = %w[open claim complete fail settle finished].to_h do |name|
    source = ["now_ms", name].map { |file| File.read(File.join(__dir__, "document_batch", "#{file}.lua")) }.join
    [name.to_sym, [source.freeze, Digest::SHA1.hexdigest(source)]]
  end.freeze

  # What {#claim} answered.
  Claim = Struct.new(:outcome, :state, :pages, :flags, :remaining, keyword_init: true) do
    def run? = outcome == :run
  end

  class << self
    # Where the batch of a document lives.
    def key(document_id) = "#{PREFIX}batch:#{Integer(document_id)}"

    # Every batch still listed (the last {KEEP} seconds past their deadlines), newest first.
    # @param redis [Redis]
    # @return [Array<Status>]
    def statuses(redis)
      ids = redis.zrevrange(INDEX, 0, 199)
      hashes = redis.pipelined { |pipe| ids.each { |id| pipe.hgetall(key(id)) } }
      hashes.reject(&:empty?).map { |hash| Status.from(hash) }
    end
  end

  attr_reader :document_id, :key

  # @param document_id [Integer]
  # @param redis [#call] yields a Redis connection to the block it is given (default: Sidekiq's pool)
  def initialize(document_id, redis: Sidekiq.method(:redis))
    @document_id = Integer(document_id)
    @key = self.class.key(document_id)
    @redis = redis
  end

  # Creates the batch, its chunks pending, unless it exists.
  # @param ranges [Array<Range>] pages of each chunk, in page order
  # @param flags [Array<Array<String>>] slicer flags of each chunk (fault injection)
  # @param remaining [Float] seconds left on the document's deadline
  # @return [Boolean] false when the batch already existed (a second delivery of the job that splits)
  def open(title:, pages:, ranges:, flags:, remaining:)
    chunks = ranges.zip(flags).flat_map do |range, chunk_flags|
      ["#{range.first}-#{range.last}", JSON.generate(chunk_flags)]
    end
    script(:open, [key, INDEX], [document_id, title, (remaining * 1000).round, KEEP * 1000, pages, *chunks]) == 1
  end

  # Takes chunk `index` for this delivery, unless another delivery has it or the batch stopped.
  # @return [Claim]
  def claim(index, jid:, worker:)
    outcome, state, flags, remaining = script(:claim, [key], [index, jid, worker])
    return Claim.new(outcome: outcome.to_sym, state:) unless outcome == "run"

    first, last = state.split("-").map { |page| Integer(page) }
    Claim.new(outcome: :run, state: "running", pages: first..last, flags: JSON.parse(flags),
              remaining: Integer(remaining) / 1000.0)
  end

  # Records chunk `index` done with its files.
  # @return [Array(Symbol, Integer, Integer)] :finalize for the one caller that completed the batch
  #   (else :done, :late when the batch had failed, :stale, :gone), chunks done, chunks in all
  def complete(index, files)
    outcome, done, total = script(:complete, [key], [index, JSON.generate(files)])
    [outcome.to_sym, done, total]
  end

  # Fails the batch (its running chunks see the cancel flag), and chunk `index` when given.
  # @return [Symbol] :first for the one caller that failed the batch, else :already or :gone
  def record_failure(index, kind:, reason:) = script(:fail, [key], [index.to_s, kind, reason]).to_sym

  # Ends this delivery's claim on chunk `index`: :cancelled, or :pending to let a retry run it.
  # @return [Symbol] :ok, or :stale when the chunk is no longer this delivery's
  def settle(index, state, jid:) = script(:settle, [key], [index, state, jid]).to_sym

  # The document is recorded (and mailed): a finalizing batch is done.
  def finished = script(:finished, [key], []).to_sym

  # @return [Status, nil] nil once the batch is gone
  def status
    hash = @redis.call { |conn| conn.hgetall(key) }
    hash.empty? ? nil : Status.from(hash)
  end

  # Every chunk's files, in page order.
  # @return [Array<String>]
  def files
    total = Integer(@redis.call { |conn| conn.hget(key, "total") })
    fields = Array.new(total) { |i| "c#{i}:files" }
    @redis.call { |conn| conn.hmget(key, *fields) }.flat_map { |json| JSON.parse(json || "[]") }
  end

  private

  # EVALSHA, and EVAL once when the server does not have the script yet (after a restart).
  def script(name, keys, argv)
    source, sha = SCRIPTS.fetch(name)
    @redis.call do |conn|
      conn.evalsha(sha, keys:, argv:)
    rescue Redis::CommandError => e
      raise unless e.message.start_with?("NOSCRIPT")

      conn.eval(source, keys:, argv:)
    end
  end
end

require_relative "document_batch/status"
