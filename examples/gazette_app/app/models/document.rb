# frozen_string_literal: true

# An uploaded gazette; DocumentProcessingJob slices it into one PDF per page.
class Document < ActiveRecord::Base
  belongs_to :user
  serialize :files, JSON

  TERMINAL = %w[done failed].freeze

  def finished? = TERMINAL.include?(status)

  def output_dir = File.join(GazetteApp.config.output_root, "document-#{id}")

  # What a status page shows while the job runs: "40% page 2 of 5".
  def progress_text = progress_percent && ["#{progress_percent}%", progress_message].compact.join(" ")

  def link = "https://gazettes.example/documents/#{id}"

  # What a status page shows, best effort: a failed write (a busy database) is not the job's failure.
  # @return [Boolean] false when it could not be saved
  def record_progress(percent, message)
    update_columns(progress_percent: percent, progress_message: message, updated_at: Time.now)
    true
  rescue ActiveRecord::ActiveRecordError
    false
  end

  # Seconds left on the whole document's deadline (negative once past).
  def remaining = deadline_at - Time.now

  # Ends the processing with these attributes, once: of every job that tries
  # (the serial job, the last chunk's fan-in, a failing chunk, the deadline's
  # watchdog), only the first finds the document still processing. One UPDATE
  # … WHERE status = 'processing', so it holds across processes.
  # @return [Boolean] true for the caller that ended it (and mails the user)
  def conclude(**attributes)
    # update_all casts each value through its attribute's type (files becomes JSON).
    won = self.class.where(id:, status: "processing").update_all(attributes.merge(updated_at: Time.now)) == 1
    reload
    won
  end
end
