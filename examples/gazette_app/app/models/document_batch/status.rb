# frozen_string_literal: true

require "json"

class DocumentBatch
  # A batch as the status page shows it, read from its hash (times are
  # Floats, seconds since the epoch, by Redis's clock).
  Status = Struct.new(:document_id, :title, :state, :done, :total, :pages, :created_at, :deadline_at,
                      :finished_at, :failed_at, :error_kind, :error, :chunks, keyword_init: true) do
    # @param hash [Hash{String=>String}] HGETALL of a batch
    # @return [Status]
    def self.from(hash)
      counts = %w[document_id done total pages].to_h { |field| [field.to_sym, Integer(hash[field])] }
      times = %w[created_at deadline_at finished_at failed_at].to_h { |field| [field.to_sym, time(hash[field])] }
      chunks = Array.new(counts[:total]) { |index| Chunk.from(hash, index) }
      new(**counts, **times, **hash.slice("title", "state", "error_kind", "error").transform_keys(&:to_sym), chunks:)
    end

    # Redis's milliseconds as seconds.
    def self.time(milliseconds) = milliseconds && (Integer(milliseconds) / 1000.0)

    def in_progress? = %w[running finalizing].include?(state)

    # @return [Float] seconds left before the deadline (negative once past)
    def time_left(now = Time.now.to_f) = deadline_at - now

    # Per-chunk overheads: enqueue to start of the chunks that found a free
    # worker thread (those started before any chunk ended; the others waited
    # in the queue for one), and the fan-in (the last chunk's end to now).
    def overheads(now = Time.now.to_f)
      ends = chunks.map(&:finished_at)
      first, queued = chunks.partition { |chunk| chunk.started_at < ends.min }
      { enqueue_to_start_ms: first.map { |chunk| milliseconds(chunk.started_at - created_at) },
        queued_chunks: queued.size, fan_in_ms: milliseconds(now - ends.max) }
    end

    # Milliseconds from the batch's failure to each cancelled chunk's end.
    def cancel_latencies_ms
      chunks.select { |chunk| chunk.state == "cancelled" }.map { |chunk| milliseconds(chunk.finished_at - failed_at) }
    end

    def to_h(now = Time.now.to_f)
      super().merge(time_left: time_left(now).round(1), in_progress: in_progress?, chunks: chunks.map(&:to_h))
    end

    private

    def milliseconds(seconds) = (seconds * 1000).round(1)
  end

  # A chunk as the status page shows it.
  Chunk = Struct.new(:index, :pages, :state, :flags, :started_at, :finished_at, :worker, :duplicates, :error,
                     keyword_init: true) do
    def self.from(hash, index)
      own = ->(name) { hash["c#{index}:#{name}"] }
      new(index:, pages: own["range"], state: own["state"], flags: JSON.parse(own["flags"]), worker: own["worker"],
          started_at: Status.time(own["started_at"]), finished_at: Status.time(own["finished_at"]),
          duplicates: own["duplicates"].to_i, error: own["error"])
    end
  end
end
