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
      redis: lambda {
               Redis.new(url: GazetteApp.config.redis_url, connect_timeout: 1, read_timeout: 1,
                         id: "gazette-cancel-#{Process.pid}")
             },
      interval: GazetteApp.config.cancel_poll, field: "state", stop_when: DocumentBatch::CANCELLED,
      logger: GazetteApp.logger
    )
  end

  def perform(document_id, index)
    @batch = DocumentBatch.new(document_id)
    @index = index
    @claim = @batch.claim(index, jid:, worker: "#{Socket.gethostname}:#{Process.pid}")
    return log("chunk_#{@claim.outcome}", document_id, chunk: index, batch: @claim.state) unless @claim.run?

    @document = Document.find(document_id)
    run
  end

  # Called by Sidekiq when the retries of a chunk job are exhausted.
  def give_up(document_id, index, error)
    reason = "Processing failed (pages of chunk #{index}): #{error.class}"
    return unless DocumentBatch.new(document_id).record_failure(index, kind: "error", reason:) == :first

    document = Document.find(document_id)
    conclude_failed(document, kind: "error", description: "Processing failed", message: error.message,
                              duration: Time.now - document.started_at)
  end

  private

  def run
    reported = false
    slices = self.class.cancellation.guard(@batch.key) { slice }
    outcome, done, total = @batch.complete(@index, slices.files)
    reported = true
    completed(outcome, done, total)
  rescue GazetteRunner::Error => e
    reported = true
    fail_batch(e)
  rescue GazetteApp::Cancelled
    reported = true
    @batch.settle(@index, "cancelled", jid:)
    log_chunk("chunk_cancelled")
  ensure
    @batch.settle(@index, "pending", jid:) unless reported # for Sidekiq's retry (or its requeue at shutdown)
  end

  def pages = "#{@claim.pages.first}-#{@claim.pages.last}"

  def log_chunk(event, **fields) = log(event, @document.id, chunk: @index, pages:, **fields)

  # --progress although nobody shows a chunk's progress: a slicer whose worker
  # was SIGKILLed (and which is then nobody's child) dies of EPIPE at its next page.
  def slice
    argv = slicer_argv(@document, "--pages", pages, "--progress", fault_flags: @claim.flags)
    GazetteRunner.within([@claim.remaining, 0].max) do
      GazetteRunner.slice_gazette(argv, output_dir: @document.output_dir, **chunk_options)
    end
  end

  def chunk_options
    { timeout: config.script_timeout, estimator: GazetteApp::Timing.slicer, size: @claim.pages.size,
      kill_after: config.kill_after, retries: config.chunk_retries,
      backoff: config.chunk_backoff, max_backoff: config.chunk_backoff }
  end

  def completed(outcome, done, total)
    log_chunk("chunk_done", outcome:)
    progress(done, total) if outcome == :done
    finalize if outcome == :finalize
  end

  def progress(done, total)
    return if @document.record_progress(done * 100 / total, "#{done} of #{total} chunks")

    log("progress_not_saved", @document.id)
  end

  # The fan-in: only the delivery that completed the batch gets here, once.
  def finalize
    files = @batch.files
    status = @batch.status
    return fail_merge(files, status) unless files.size == status.pages

    notify(@document, "success") if @document.conclude(**done_attributes(files, status))
    @batch.finished
    log("finish", @document.id, outcome: "ok", page_count: files.size, chunks: status.total,
                                duration: @document.duration.round(3), **status.overheads)
  end

  def done_attributes(files, status)
    { status: "done", description: "Sliced into #{files.size} pages (#{status.total} chunks)",
      page_count: files.size, files:, error_kind: nil, progress_percent: 100,
      progress_message: "#{status.total} of #{status.total} chunks", duration: Time.now - @document.started_at,
      finished_at: Time.now }
  end

  def fail_merge(files, status)
    reason = "#{files.size} pages from the chunks for a gazette of #{status.pages}"
    @batch.record_failure(nil, kind: "schema_error", reason:)
    fail_document("schema_error", description_of("schema_error"), reason)
  end

  def fail_batch(error)
    kind, description = failure_of(error)
    description = "#{description} (pages #{pages})"
    first = @batch.record_failure(@index, kind:, reason: "#{description}: #{error.message}") == :first
    log_chunk("chunk_failed", outcome: kind, error: error.class.name, failed_batch: first)
    fail_document(kind, description, error.message, error: error.class.name) if first
  end

  def fail_document(kind, description, message, **fields)
    conclude_failed(@document, kind:, description:, message:, duration: Time.now - @document.started_at)
    @batch.finished
    log("finish", @document.id, outcome: kind, chunk: @index, duration: @document.duration, **fields)
  end
end
