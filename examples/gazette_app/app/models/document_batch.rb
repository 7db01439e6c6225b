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

  NOW = <<~LUA
    local function now_ms()
      local t = redis.call('TIME')
      return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end
  LUA

  # The Lua scripts, by name: [source, SHA1].
  SCRIPTS = {
    # KEYS: batch, index. ARGV: document id, title, remaining ms, keep ms, pages, then range and flags per chunk.
    open: <<~LUA,
      if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
      local now = now_ms()
      local deadline = now + tonumber(ARGV[3])
      local n = (#ARGV - 5) / 2
      redis.call('HSET', KEYS[1], 'document_id', ARGV[1], 'title', ARGV[2], 'state', 'running', 'total', n,
                 'done', 0, 'pages', ARGV[5], 'created_at', now, 'deadline_at', deadline)
      for i = 0, n - 1 do
        local c = 'c' .. i .. ':'
        redis.call('HSET', KEYS[1], c .. 'range', ARGV[6 + 2 * i], c .. 'flags', ARGV[7 + 2 * i], c .. 'state', 'pending')
      end
      local expire_at = deadline + tonumber(ARGV[4])
      redis.call('PEXPIREAT', KEYS[1], expire_at)
      redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[4]))
      redis.call('ZADD', KEYS[2], deadline, ARGV[1])
      if redis.call('PTTL', KEYS[2]) < expire_at - now then redis.call('PEXPIREAT', KEYS[2], expire_at) end
      return 1
    LUA
    # ARGV: chunk, jid, worker. Returns {'run', range, flags, ms left} or {'taken'|'skip'|'gone', state}.
    claim: <<~LUA,
      if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone', ''} end
      local c = 'c' .. ARGV[1] .. ':'
      local chunk = redis.call('HGET', KEYS[1], c .. 'state')
      if not chunk then return {'gone', ''} end
      if chunk ~= 'pending' then
        redis.call('HINCRBY', KEYS[1], c .. 'duplicates', 1)
        return {'taken', chunk}
      end
      local now = now_ms()
      local state = redis.call('HGET', KEYS[1], 'state')
      if state ~= 'running' then
        redis.call('HSET', KEYS[1], c .. 'state', 'skipped', c .. 'finished_at', now)
        return {'skip', state}
      end
      redis.call('HSET', KEYS[1], c .. 'state', 'running', c .. 'started_at', now, c .. 'jid', ARGV[2],
                 c .. 'worker', ARGV[3])
      local b = redis.call('HMGET', KEYS[1], 'deadline_at', c .. 'range', c .. 'flags')
      return {'run', b[2], b[3], tostring(tonumber(b[1]) - now)}
    LUA
    # ARGV: chunk, files (JSON). Returns {'finalize'|'done'|'late'|'stale'|'gone', done, total}.
    complete: <<~LUA,
      if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone', 0, 0} end
      local c = 'c' .. ARGV[1] .. ':'
      if redis.call('HGET', KEYS[1], c .. 'state') ~= 'running' then return {'stale', 0, 0} end
      local now = now_ms()
      redis.call('HSET', KEYS[1], c .. 'state', 'done', c .. 'files', ARGV[2], c .. 'finished_at', now)
      local total = tonumber(redis.call('HGET', KEYS[1], 'total'))
      if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return {'late', 0, total} end
      local done = redis.call('HINCRBY', KEYS[1], 'done', 1)
      if done < total then return {'done', done, total} end
      redis.call('HSET', KEYS[1], 'state', 'finalizing', 'finalizing_at', now)
      return {'finalize', done, total}
    LUA
    # ARGV: chunk ('' when no chunk failed: the deadline, the fan-in), error kind, reason.
    # Returns 'first' for the one caller that failed the batch.
    fail: <<~LUA,
      if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
      local now = now_ms()
      if ARGV[1] ~= '' then
        local c = 'c' .. ARGV[1] .. ':'
        redis.call('HSET', KEYS[1], c .. 'state', 'failed', c .. 'finished_at', now, c .. 'error', ARGV[3])
      end
      local state = redis.call('HGET', KEYS[1], 'state')
      if state ~= 'running' and state ~= 'finalizing' then return 'already' end
      redis.call('HSET', KEYS[1], 'state', 'failed', 'error_kind', ARGV[2], 'error', ARGV[3], 'failed_chunk', ARGV[1],
                 'failed_at', now)
      return 'first'
    LUA
    # ARGV: chunk, new state (cancelled, or pending to give the claim back), jid.
    settle: <<~LUA,
      if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
      local c = 'c' .. ARGV[1] .. ':'
      local chunk = redis.call('HMGET', KEYS[1], c .. 'state', c .. 'jid')
      if chunk[1] ~= 'running' or chunk[2] ~= ARGV[3] then return 'stale' end
      redis.call('HSET', KEYS[1], c .. 'state', ARGV[2], c .. 'finished_at', now_ms())
      return 'ok'
    LUA
    # The document is recorded and its user mailed.
    finished: <<~LUA
      if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
      if redis.call('HGET', KEYS[1], 'state') == 'finalizing' then redis.call('HSET', KEYS[1], 'state', 'done') end
      redis.call('HSET', KEYS[1], 'finished_at', now_ms())
      return 'ok'
    LUA
  }.transform_values { |body| "#{NOW}#{body}".then { |source| [source.freeze, Digest::SHA1.hexdigest(source)] } }
       .freeze

  # What {#claim} answered.
  Claim = Struct.new(:outcome, :state, :pages, :flags, :remaining, keyword_init: true) do
    def run? = outcome == :run
  end

  # A chunk as the status page shows it.
  Chunk = Struct.new(:index, :pages, :state, :flags, :started_at, :finished_at, :worker, :duplicates, :error,
                     keyword_init: true)

  # A batch as the status page shows it (times are Floats, seconds since the epoch).
  Status = Struct.new(:document_id, :title, :state, :done, :total, :pages, :created_at, :deadline_at,
                      :finished_at, :failed_at, :error_kind, :error, :chunks, keyword_init: true) do
    def in_progress? = %w[running finalizing].include?(state)
    def time_left(now = Time.now.to_f) = deadline_at - now

    def to_h(now = Time.now.to_f)
      super().merge(time_left: time_left(now).round(1), in_progress: in_progress?, chunks: chunks.map(&:to_h))
    end
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
      hashes.reject(&:empty?).map { |hash| status_from(hash) }
    end

    # @param hash [Hash{String=>String}] HGETALL of a batch
    # @return [Status]
    def status_from(hash)
      time = ->(field) { hash[field] && (Integer(hash[field]) / 1000.0) }
      chunks = Array.new(Integer(hash.fetch("total"))) do |i|
        c = "c#{i}:"
        Chunk.new(index: i, pages: hash["#{c}range"], state: hash["#{c}state"], flags: JSON.parse(hash["#{c}flags"]),
                  started_at: time["#{c}started_at"], finished_at: time["#{c}finished_at"], worker: hash["#{c}worker"],
                  duplicates: hash["#{c}duplicates"].to_i, error: hash["#{c}error"])
      end
      Status.new(document_id: Integer(hash["document_id"]), title: hash["title"], state: hash["state"],
                 done: Integer(hash["done"]), total: chunks.size, pages: Integer(hash["pages"]),
                 created_at: time["created_at"], deadline_at: time["deadline_at"], finished_at: time["finished_at"],
                 failed_at: time["failed_at"], error_kind: hash["error_kind"], error: hash["error"], chunks:)
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
    chunks = ranges.zip(flags).flat_map { |range, chunk_flags| ["#{range.first}-#{range.last}", JSON.generate(chunk_flags)] }
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
  def fail(index, kind:, reason:) = script(:fail, [key], [index.to_s, kind, reason]).to_sym

  # Ends this delivery's claim on chunk `index`: :cancelled, or :pending to let a retry run it.
  # @return [Symbol] :ok, or :stale when the chunk is no longer this delivery's
  def settle(index, state, jid:) = script(:settle, [key], [index, state, jid]).to_sym

  # The document is recorded (and mailed): a finalizing batch is done.
  def finished = script(:finished, [key], []).to_sym

  # @return [Status, nil] nil once the batch is gone
  def status
    hash = @redis.call { |conn| conn.hgetall(key) }
    hash.empty? ? nil : self.class.status_from(hash)
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
