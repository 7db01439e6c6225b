# frozen_string_literal: true

# Slices an uploaded gazette into one PDF per page with script/slice_gazette.py.
#
# The job is bounded twice, as the post-mortem asked: 30 minutes for the whole
# job (GAZETTE_JOB_DEADLINE) and 15 minutes for the script (GAZETTE_SCRIPT_TIMEOUT).
# Whatever the script does, the document is updated, the user gets a mail, and
# the job returns; when the script fails, the document gets the error kind and
# the job returns the safe default, {"page_count" => 0, "files" => []}.
class DocumentProcessingJob
  include Sidekiq::Worker

  # No Sidekiq retries: every failure is handled (and mailed) here. A job that
  # Sidekiq's shutdown interrupts is pushed back on the queue by Sidekiq itself.
  sidekiq_options queue: "document_processing", retry: false

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

  def perform(document_id, fault_flags = [])
    document = Document.find(document_id)
    started = monotonic
    document.update!(status: "processing", started_at: Time.now, progress_percent: nil, progress_message: nil)
    log("start", document, flags: fault_flags)
    slices = slice(document, fault_flags)
    succeed(document, slices, monotonic - started)
  rescue GazetteRunner::Error => e
    degrade(document, e, monotonic - started)
  end

  private

  def config = GazetteApp.config

  def slice(document, fault_flags)
    FileUtils.mkdir_p(document.output_dir)
    GazetteRunner.within(config.job_deadline) do
      # The slicer's bound is learned from the fleet's runs (GazetteApp::Timing).
      GazetteApp::Timing.slice(GazetteApp::Timing.pages_of(document.source_path)) do |timeout|
        GazetteRunner.slice_gazette(
          argv(document, fault_flags), output_dir: document.output_dir,
                                       timeout:, kill_after: config.kill_after,
                                       on_progress: ->(progress) { record_progress(document, progress) }
        )
      end
    end
  end

  def argv(document, fault_flags)
    unknown = fault_flags - FAULT_FLAGS
    raise ArgumentError, "unknown slicer flags #{unknown.inspect}" unless unknown.empty?

    [config.python, config.slicer, document.source_path, "--out", document.output_dir, "--progress", *fault_flags]
  end

  # Called on the job's thread for each PROGRESS line: the user sees "page 12 of 40".
  def record_progress(document, progress)
    document.update_columns(progress_percent: progress.percent, progress_message: progress.message,
                            updated_at: Time.now)
  rescue ActiveRecord::ActiveRecordError => e
    log("progress_not_saved", document, error: e.class.name) # progress is best effort
  end

  def succeed(document, slices, duration)
    document.update!(status: "done", description: "Sliced into #{slices.page_count} pages",
                     page_count: slices.page_count, files: slices.files, error_kind: nil,
                     duration:, finished_at: Time.now)
    notify(document, "success")
    log("finish", document, outcome: "ok", page_count: slices.page_count, duration: duration.round(3))
    slices.to_h
  end

  def degrade(document, error, duration)
    kind, description = FAILURES.find { |klass, _| error.is_a?(klass) }&.last || ["error", "Processing failed"]
    document.update!(status: "failed", description:, error_kind: kind, error_message: error.message[0, 2000],
                     page_count: 0, files: [], duration:, finished_at: Time.now)
    notify(document, "error")
    log("finish", document, outcome: kind, error: error.class.name, duration: duration.round(3), **details(error))
    GazetteRunner::SliceResult.empty.to_h # the safe default: {"page_count" => 0, "files" => []}
  end

  # The post-mortem's "log raw output" for invalid JSON (the gem logs the stderr tail itself).
  def details(error) = error.is_a?(GazetteRunner::InvalidJsonError) ? { raw: error.raw.to_s[0, 500] } : {}

  def notify(document, status)
    DocumentProcessingMailer.document_processing_complete(document.user, document, status).deliver_now
    document.update_columns(mailed_at: Time.now)
  end

  # One JSON line per job event, next to the gem's own start/finish lines.
  def log(event, document, **fields)
    line = { document_processing: event, document_id: document.id, jid: }.merge(fields)
    level = fields[:error] ? :warn : :info
    GazetteApp.logger.public_send(level, JSON.generate(line))
  end

  def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)
end
