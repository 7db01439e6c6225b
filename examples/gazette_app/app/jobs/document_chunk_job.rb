# frozen_string_literal: true

require "socket"

# Slices one page range of a fanned-out gazette (see DocumentProcessingJob and
# docs/fan_out.md), and, when it is the last chunk done, merges the pages of
# every chunk in order, records the document and mails the user.
#
# - A delivery first claims its chunk in Redis (DocumentBatch#claim): a second
#   delivery of the same chunk, or a chunk of a batch that already failed,
#   does nothing.
# - The slicer runs through GazetteRunner.slice_gazette with the gem's retries
#   (GAZETTE_CHUNK_RETRIES) and within the document's deadline. A failure
#   that survives them fails the batch, once, and the document with it.
# - While it runs, GazetteApp::Cancellation watches the batch: when another
#   chunk fails it (or the deadline does), the slicer is ended and reaped
#   within GAZETTE_CANCEL_POLL + min(kill_after, 1 s).
# - Anything else (Redis or the database down, Sidekiq's shutdown) gives the
#   claim back and raises: Sidekiq retries the job (or requeues it at shutdown).
class DocumentChunkJob
  include Sidekiq::Worker
  include DocumentJob

  sidekiq_options queue: "document_processing", retry: 2
  # Retries exhausted (Redis or the database kept failing): the document fails.
  sidekiq_retries_exhausted { |job, error| new.give_up(*job["args"], error) }

  # The cancellation of every chunk job of this process (one watcher thread).
  def self.cancellation
    @cancellation ||= GazetteApp::Cancellation.new(
      redis: -> { Redis.new(url: GazetteApp.config.redis_url, connect_timeout: 1, read_timeout: 1,
                            id: "gazette-cancel-#{Process.pid}") },
      interval: GazetteApp.config.cancel_poll, field: "state", stop_when: DocumentBatch::CANCELLED,
      logger: GazetteApp.logger
    )
  end

  def perform(document_id, index)
    batch = DocumentBatch.new(document_id)
    claim = batch.claim(index, jid:, worker: "#{Socket.gethostname}:#{Process.pid}")
    return log("chunk_#{claim.outcome}", document_id, chunk: index, batch: claim.state) unless claim.run?

    run(batch, Document.find(document_id), index, claim)
  end

  # Called by Sidekiq when the retries of a chunk job are exhausted.
  def give_up(document_id, index, error)
    reason = "Processing failed (pages of chunk #{index}): #{error.class}"
    return unless DocumentBatch.new(document_id).fail(index, kind: "error", reason:) == :first

    document = Document.find(document_id)
    conclude_failed(document, kind: "error", description: "Processing failed", message: error.message,
                              duration: Time.now - document.started_at)
  end

  private

  def run(batch, document, index, claim)
    settled = false
    slices = self.class.cancellation.guard(batch.key) { slice(document, claim) }
    outcome, done, total = batch.complete(index, slices.files)
    settled = true
    log("chunk_done", document.id, chunk: index, pages: "#{claim.pages.first}-#{claim.pages.last}", outcome:)
    progress(document, done, total) if outcome == :done
    finalize(batch, document) if outcome == :finalize
  rescue GazetteRunner::Error => e
    settled = true
    fail_batch(batch, document, index, claim, e)
  rescue GazetteApp::Cancelled
    settled = true
    batch.settle(index, "cancelled", jid:)
    log("chunk_cancelled", document.id, chunk: index, pages: "#{claim.pages.first}-#{claim.pages.last}")
  ensure
    batch.settle(index, "pending", jid:) unless settled # for Sidekiq's retry (or its requeue at shutdown)
  end

  # --progress although nobody shows a chunk's progress: a slicer whose worker
  # was SIGKILLed (and which is then nobody's child) dies of EPIPE at its next page.
  def slice(document, claim)
    pages = "#{claim.pages.first}-#{claim.pages.last}"
    GazetteRunner.within([claim.remaining, 0].max) do
      GazetteRunner.slice_gazette(slicer_argv(document, "--pages", pages, "--progress", fault_flags: claim.flags),
                                  output_dir: document.output_dir, timeout: config.script_timeout,
                                  kill_after: config.kill_after, retries: config.chunk_retries,
                                  backoff: config.chunk_backoff, max_backoff: config.chunk_backoff)
    end
  end

  def progress(document, done, total)
    document.update_columns(progress_percent: done * 100 / total, progress_message: "#{done} of #{total} chunks",
                            updated_at: Time.now)
  rescue ActiveRecord::ActiveRecordError => e
    log("progress_not_saved", document.id, error: e.class.name) # progress is best effort
  end

  # The fan-in: only the delivery that completed the batch gets here, once.
  def finalize(batch, document)
    files = batch.files
    status = batch.status
    return fail_merge(batch, document, files, status) unless files.size == status.pages

    if document.conclude(status: "done", description: "Sliced into #{files.size} pages (#{status.total} chunks)",
                         page_count: files.size, files:, error_kind: nil, progress_percent: 100,
                         progress_message: "#{status.total} of #{status.total} chunks",
                         duration: Time.now - document.started_at, finished_at: Time.now)
      notify(document, "success")
    end
    batch.finished
    log("finish", document.id, outcome: "ok", page_count: files.size, chunks: status.total,
                               duration: document.duration.round(3), **overheads(status))
  end

  # Per-chunk overheads, from Redis's clock: enqueue to start of the chunks
  # that found a free worker thread (those started before any chunk ended;
  # the others waited in the queue for one), and the fan-in (the last chunk's
  # end to the document recorded and mailed).
  def overheads(status)
    first_end = status.chunks.map(&:finished_at).min
    waves = status.chunks.partition { |chunk| chunk.started_at < first_end }
    { enqueue_to_start_ms: waves.first.map { |chunk| ((chunk.started_at - status.created_at) * 1000).round(1) },
      queued_chunks: waves.last.size,
      fan_in_ms: ((Time.now.to_f - status.chunks.map(&:finished_at).max) * 1000).round(1) }
  end

  def fail_merge(batch, document, files, status)
    reason = "#{files.size} pages from the chunks for a gazette of #{status.pages}"
    batch.fail(nil, kind: "schema_error", reason:)
    conclude_failed(document, kind: "schema_error", description: "The slicer's answer did not match its pages",
                              message: reason, duration: Time.now - document.started_at)
    batch.finished
  end

  def fail_batch(batch, document, index, claim, error)
    kind, description = failure_of(error)
    description = "#{description} (pages #{claim.pages.first}-#{claim.pages.last})"
    first = batch.fail(index, kind:, reason: "#{description}: #{error.message}") == :first
    log("chunk_failed", document.id, chunk: index, outcome: kind, error: error.class.name, failed_batch: first)
    return unless first

    conclude_failed(document, kind:, description:, message: error.message, duration: Time.now - document.started_at)
    batch.finished
    log("finish", document.id, outcome: kind, error: error.class.name, chunk: index, duration: document.duration)
  end
end
