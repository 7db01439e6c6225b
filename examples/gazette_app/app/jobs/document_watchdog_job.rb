# frozen_string_literal: true

# Runs once a document's deadline has passed (scheduled with perform_at when
# its processing starts): if the document is still processing, its jobs were
# lost — Sidekiq (without Pro) drops the jobs a SIGKILLed worker was running —
# or are stuck; the document fails as timed out, its batch (if fanned out) is
# failed too, so any chunk still running is cancelled, and the user is mailed.
# Nothing is done for a document that ended on its own.
class DocumentWatchdogJob
  include Sidekiq::Worker
  include DocumentJob

  sidekiq_options queue: "document_processing", retry: 3

  def perform(document_id)
    document = Document.find_by(id: document_id)
    return if document.nil? || document.finished?
    return self.class.perform_at(document.deadline_at + DocumentJob.watchdog_delay, document.id) if early?(document)

    fail_document(document, *expire(document))
  end

  private

  def fail_document(document, kind, reason)
    concluded = conclude_failed(document, kind:, description: description_of(kind), message: reason,
                                          duration: Time.now - document.started_at)
    DocumentBatch.new(document.id).finished
    log("watchdog", document.id, outcome: kind, concluded:)
  end

  # Sidekiq runs scheduled jobs late, never early; but a clock that stepped back might.
  def early?(document) = document.remaining.positive?

  # Fails the batch (a no-op for a document sliced by one job); keeps the
  # reason of a chunk that failed it first but died before recording it.
  def expire(document)
    reason = "not finished within its deadline (#{config.job_deadline.round} s)"
    batch = DocumentBatch.new(document.id)
    return ["timeout", reason] unless batch.record_failure(nil, kind: "timeout", reason:) == :already

    status = batch.status
    [status&.error_kind || "timeout", status&.error || reason]
  end
end
