# frozen_string_literal: true

# Slices an uploaded gazette into one PDF per page with script/slice_gazette.py.
#
# The document is bounded twice, as the post-mortem asked: 30 minutes for the
# whole document (GAZETTE_JOB_DEADLINE, counted from its first start) and 15
# minutes for each run of the script (GAZETTE_SCRIPT_TIMEOUT). Whatever the
# script does, the document is updated, the user gets a mail, and the job
# returns; when the script fails, the document gets the error kind and the job
# returns the safe default, {"page_count" => 0, "files" => []}.
#
# A gazette of more than GAZETTE_FAN_OUT_ABOVE pages is not sliced here: the
# job splits it into page ranges (ChunkPlan), records the batch in Redis
# (DocumentBatch), enqueues a DocumentChunkJob per range and returns; the last
# chunk done records the document (see docs/fan_out.md). Either way a
# DocumentWatchdogJob is scheduled for the deadline, so a document whose jobs
# were lost (a SIGKILLed worker) still ends, failed, and its user is told.
class DocumentProcessingJob
  include Sidekiq::Worker
  include DocumentJob

  # No Sidekiq retries: every failure is handled (and mailed) here. A job that
  # Sidekiq's shutdown interrupts is pushed back on the queue by Sidekiq itself.
  sidekiq_options queue: "document_processing", retry: false

  # The page count's answer.
  PAGE_COUNT = { "type" => "object", "required" => ["page_count"],
                 "properties" => { "page_count" => { "type" => "integer", "minimum" => 0 } } }.freeze

  # @param fault_flags [Array<String>] slicer flags for every run (fault injection)
  # @param chunk_faults [Hash{String=>Array<String>}] more flags for the chunk of that index, when fanned out
  def perform(document_id, fault_flags = [], chunk_faults = {})
    document = Document.find(document_id)
    return log("skip", document.id, status: document.status) if document.finished? # delivered again

    check_faults(fault_flags, chunk_faults)
    started = monotonic
    start(document, fault_flags)
    GazetteRunner.within([document.remaining, 0].max) { process(document, fault_flags, chunk_faults, started) }
  rescue GazetteRunner::Error => e
    degrade(document, e, monotonic - started)
  end

  private

  def start(document, fault_flags)
    first = document.deadline_at.nil?
    # Both kept from the first start when Sidekiq's shutdown requeued the job (or it came twice).
    document.update!(status: "processing", started_at: document.started_at || Time.now, progress_percent: nil,
                     progress_message: nil, deadline_at: document.deadline_at || (Time.now + config.job_deadline))
    watch(document) if first
    log("start", document.id, flags: fault_flags, deadline_at: document.deadline_at.iso8601(3))
  end

  def watch(document) = DocumentWatchdogJob.perform_at(document.deadline_at + DocumentJob.watchdog_delay, document.id)

  def process(document, fault_flags, chunk_faults, started)
    FileUtils.mkdir_p(document.output_dir)
    pages = count_pages(document)
    plan = ChunkPlan.new
    return succeed(document, slice(document, fault_flags, pages), monotonic - started) unless plan.fan_out?(pages)

    ranges = plan.ranges(pages)
    fan_out(document, pages, ranges, ranges.each_index.map { |i| fault_flags + chunk_faults.fetch(i.to_s, []) })
  end

  # The page count decides between one job and many; it costs one short run of the slicer.
  def count_pages(document)
    GazetteRunner.run_json(slicer_argv(document, "--count"), schema: PAGE_COUNT, timeout: config.script_timeout,
                                                             kill_after: config.kill_after).fetch("page_count")
  end

  # The slicer's bound is learned from the fleet's runs (GazetteApp::Timing),
  # capped by the configured script timeout.
  def slice(document, fault_flags, pages)
    progress = ->(update) { record_progress(document, update) }
    GazetteRunner.slice_gazette(slicer_argv(document, "--progress", fault_flags:),
                                output_dir: document.output_dir, timeout: config.script_timeout,
                                estimator: GazetteApp::Timing.slicer, size: pages,
                                kill_after: config.kill_after, on_progress: progress)
  end

  # Records the batch, then enqueues its chunks: a chunk never runs before its batch exists.
  def fan_out(document, pages, ranges, flags)
    opened = DocumentBatch.new(document.id).open(title: document.title, pages:, ranges:, flags:,
                                                 remaining: document.remaining)
    return log("fan_out_exists", document.id) unless opened # this job was delivered twice

    chunks = ranges.size
    document.update_columns(chunk_count: chunks, progress_percent: 0, progress_message: "0 of #{chunks} chunks")
    Sidekiq::Client.push_bulk("class" => DocumentChunkJob, "args" => Array.new(chunks) { |i| [document.id, i] })
    log("fan_out", document.id, pages:, chunks:, pages_per_chunk: ranges.first.size)
    nil
  end

  # Called on the job's thread for each PROGRESS line: the user sees "page 12 of 40".
  def record_progress(document, progress)
    return if document.record_progress(progress.percent, progress.message)

    log("progress_not_saved", document.id)
  end

  def succeed(document, slices, duration)
    if document.conclude(status: "done", description: "Sliced into #{slices.page_count} pages",
                         page_count: slices.page_count, files: slices.files, error_kind: nil,
                         duration:, finished_at: Time.now)
      notify(document, "success")
    end
    log("finish", document.id, outcome: "ok", page_count: slices.page_count, duration: duration.round(3))
    slices.to_h
  end

  def degrade(document, error, duration)
    kind, description = failure_of(error)
    conclude_failed(document, kind:, description:, message: error.message, duration:)
    log("finish", document.id, outcome: kind, error: error.class.name, duration: duration.round(3), **details(error))
    GazetteRunner::SliceResult.empty.to_h # the safe default: {"page_count" => 0, "files" => []}
  end

  # The post-mortem's "log raw output" for invalid JSON (the gem logs the stderr tail itself).
  def details(error) = error.is_a?(GazetteRunner::InvalidJsonError) ? { raw: error.raw.to_s[0, 500] } : {}
end
