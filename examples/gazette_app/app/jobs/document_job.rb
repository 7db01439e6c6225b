# frozen_string_literal: true

# What the document jobs share: the settings, the slicer's command line, the
# error matrix, how a document ends (once, with a mail) and the log lines.
module DocumentJob
  # The error matrix: what each failure is called on the document, and what the user reads.
  FAILURES = {
    GazetteRunner::TimeoutError => ["timeout", "Processing timed out"],
    GazetteRunner::ExitError => ["exit_error", "The slicer failed"],
    GazetteRunner::EmptyOutputError => ["empty_output", "The slicer returned no output"],
    GazetteRunner::InvalidJsonError => ["invalid_json", "The slicer returned unreadable output"],
    GazetteRunner::SchemaError => ["schema_error", "The slicer's answer did not match its pages"],
    GazetteRunner::OutputLimitError => ["output_limit", "The slicer wrote too much output"],
    GazetteRunner::SpawnError => ["spawn_error", "The slicer could not be started"],
    GazetteRunner::CircuitOpenError => ["circuit_open", "Slicing is paused after repeated failures"]
  }.freeze

  # Flags of script/slice_gazette.py that the demo and the tests may pass to
  # make the slicer misbehave (fault injection); nothing else reaches argv.
  FAULT_FLAGS = %w[--hang --ignore-term --empty --garbage --crash --leave-grandchild --slow].freeze

  # How long after a document's deadline its watchdog looks: the slicers
  # running then have been told to stop at the deadline and need kill_after
  # to be gone; a second more for their jobs to record it.
  def self.watchdog_delay = GazetteApp.config.kill_after + 1

  private

  def config = GazetteApp.config

  def check_faults(fault_flags, chunk_faults) = [fault_flags, *chunk_faults.values].each { |flags| check_flags(flags) }

  def check_flags(flags)
    unknown = flags - FAULT_FLAGS
    raise ArgumentError, "unknown slicer flags #{unknown.inspect}" unless unknown.empty?
  end

  def slicer_argv(document, *options, fault_flags: [])
    check_flags(fault_flags)
    [config.python, config.slicer, document.source_path, "--out", document.output_dir, *options, *fault_flags]
  end

  # @return [Array(String, String)] error kind and what the user reads
  def failure_of(error) = FAILURES.find { |klass, _| error.is_a?(klass) }&.last || ["error", "Processing failed"]

  # @return [String] what the user reads for an error kind
  def description_of(kind) = FAILURES.values.to_h.fetch(kind, "Processing failed")

  # Ends the document as failed unless something else ended it first; mails the user if this did.
  # @return [Boolean] true when this call ended it
  def conclude_failed(document, kind:, description:, message:, duration:)
    concluded = document.conclude(status: "failed", description:, error_kind: kind,
                                  error_message: message.to_s[0, 2000], page_count: 0, files: [], duration:,
                                  finished_at: Time.now)
    notify(document, "error") if concluded
    concluded
  end

  def notify(document, status)
    DocumentProcessingMailer.document_processing_complete(document.user, document, status).deliver_now
    document.update_columns(mailed_at: Time.now)
  end

  # One JSON line per job event, next to the gem's own start/finish lines.
  def log(event, document_id, **fields)
    line = { document_processing: event, document_id:, jid: }.merge(fields)
    level = fields[:error] ? :warn : :info
    GazetteApp.logger.public_send(level, JSON.generate(line))
  end

  def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)
end
