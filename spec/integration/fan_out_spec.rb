# frozen_string_literal: true

require "json"
require "securerandom"
require "time"
require "tmpdir"
require_relative "../support/gazette_app_driver"

# The fan-out of large gazettes in the reference app (docs/fan_out.md), under
# a real redis-server and two real Sidekiq processes (concurrency 2 each),
# driven from outside like the incident replay: through bin/enqueue, Redis,
# the SQLite file, the mails and /proc. The stack is shared by the examples;
# the one that SIGKILLs a worker starts a replacement.
RSpec.describe "Fan-out of large gazettes under Sidekiq", :integration do
  include GazetteAppDriver

  # Above 20 pages, chunks of 10; 8 s per slicer run and one retry after at
  # most 0.2 s; the whole document's deadline 10 s (the SIGKILL example waits
  # for it); cancel flags polled every 0.2 s; scheduled jobs every ~1 s.
  settings = { "GAZETTE_FAN_OUT_ABOVE" => "20", "GAZETTE_CHUNK_PAGES" => "10", "GAZETTE_SCRIPT_TIMEOUT" => "8",
               "GAZETTE_KILL_AFTER" => "0.5", "GAZETTE_CHUNK_RETRIES" => "1", "GAZETTE_CHUNK_BACKOFF" => "0.2",
               "GAZETTE_JOB_DEADLINE" => "10", "GAZETTE_CANCEL_POLL" => "0.2",
               "GAZETTE_SCHEDULE_POLL" => "1" }.freeze
  # Keys without a TTL that are not the app's or the gem's: Sidekiq's own
  # (queues, the scheduled and retry sets, its counters, its process list).
  foreign_keys = /\A(queues|queue:.*|schedule|retry|dead|processes|stat:processed|stat:failed)\z/x

  before(:all) do
    GazetteApp::Stack.bundle!
    @tmp = Dir.mktmpdir("fan-out-")
    # Only the slicers' argv mentions this directory (the PDF and --out are in it).
    @var = File.join(@tmp, "work-#{SecureRandom.hex(6)}")
    @stack = GazetteApp::Stack.new(dir: @tmp, env: settings.merge("GAZETTE_VAR_DIR" => @var)).start_redis
    2.times.map { Thread.new { start_worker } }.each(&:join)
    @foreign_keys = foreign_keys
    @env = settings.merge("GAZETTE_VAR_DIR" => @var, "REDIS_URL" => @stack.redis_url)
    @pdf = make_gazette(File.join(@var, "gazette.pdf"), pages: 60, notices: 20)
  end

  after(:all) do
    @stack&.stop_all
    FileUtils.rm_rf(@tmp) if @tmp
  end

  # Each example leaves every key of the app with a TTL, and nothing queued.
  after do
    expect(keys_without_ttl).to be_empty
  end

  def start_worker = @stack.start_worker(concurrency: 2, shutdown_timeout: 2)

  def redis = @stack.redis

  def batch(id) = redis.hgetall("gazette_app:batch:#{id}")

  def chunk_states(id)
    hash = batch(id)
    Array.new(Integer(hash.fetch("total"))) { |i| hash["c#{i}:state"] }
  end

  # Living slicers (and their children) of one document: its output directory is in their argv.
  def slicers(id) = GazetteApp::ProcessInfo.mentioning(File.join(@var, "slices", "document-#{id}/"))

  def keys_without_ttl
    redis.scan_each.grep_v(@foreign_keys).select { |key| redis.ttl(key) == -1 }
  end

  # The app's log lines (JSON) about a document, from every worker's log.
  def document_lines(id, event)
    Dir.glob(File.join(@tmp, "sidekiq*.log")).flat_map { |log| File.foreach(log).to_a }
       .filter_map { |line| parse_line(line[/\{"document_processing".*\}/]) }
       .select { |line| line["document_id"] == id && line["document_processing"] == event }
  end

  def parse_line(json)
    json && JSON.parse(json)
  rescue JSON::ParserError
    nil # a line being written
  end

  def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  it "fans a 60-page gazette out over both workers; the pages equal a serial slice's, file for file" do
    job = enqueue([[[], 1]]).first
    doc = wait_for_documents([job["id"]], within: 60).fetch(job["id"])
    serial = Dir.mktmpdir("serial-", @tmp)
    slicer = "#{GazetteApp::Stack::APP_ROOT}/script/slice_gazette.py"
    reference = GazetteRunner.slice_gazette(["/usr/bin/python3", slicer, @pdf, "--out", serial], output_dir: serial,
                                                                                                 timeout: 60)
    files = JSON.parse(doc["files"])
    workers = Array.new(6) { |i| batch(job["id"])["c#{i}:worker"] }.uniq
    finish = document_lines(job["id"], "finish").first
    puts "\n  fan-out: 60 pages in 6 chunks over #{workers.size} workers, #{doc["duration"].round(2)} s; " \
         "enqueue to start #{finish["enqueue_to_start_ms"]} ms; fan-in #{finish["fan_in_ms"]} ms"

    aggregate_failures do
      expect([doc["status"], doc["page_count"], doc["chunk_count"]]).to eq(["done", 60, 6])
      expect(files.map { |f| File.basename(f) }).to eq(reference.files.map { |f| File.basename(f) })
      files.zip(reference.files).each { |ours, theirs| expect(File.binread(ours)).to eq(File.binread(theirs)) }
      expect(chunk_states(job["id"])).to all(eq("done"))
      expect(batch(job["id"])["state"]).to eq("done")
      expect(workers.size).to eq(2)
      expect(mails_to(job["email"])).to eq(["Your gazette gazette 1 is ready (60 pages)"])
    end
  end

  it "fails the document when a chunk fails for good: running chunks end within a second, pending ones never start" do
    # Four threads take chunks 0-3 as they come: two hang, one crashes (twice:
    # the gem retries it once), one is slow; chunks 4 and 5 wait for a thread.
    faults = { "0" => ["--hang"], "1" => ["--hang"], "2" => ["--crash"], "3" => ["--slow"] }
    job = enqueue([[[], 1]], chunk_faults: faults).first
    id = job["id"]
    doc = wait_for_documents([id], within: 30).fetch(id)
    settled = eventually(within: 5, every: 0.05) { (chunk_states(id) & %w[pending running]).empty? }
    state = batch(id)
    at = ->(field) { state[field] && (Integer(state[field]) / 1000.0) }
    failed_at = at["failed_at"]
    # Which chunks had started when chunk 2 failed the batch, and which had not.
    started, pending = [0, 1, 3, 4, 5].partition { |i| at["c#{i}:started_at"] && at["c#{i}:started_at"] < failed_at }
    latency = started.map { |i| at["c#{i}:finished_at"] - failed_at }
    gone = eventually(within: 3, every: 0.02) { slicers(id).empty? }
    puts "\n  cancellation: chunks #{started} running at the failure were recorded cancelled " \
         "#{latency.map { |seconds| (seconds * 1000).round }} ms after it; chunks #{pending} never started"

    aggregate_failures do
      expect([doc["status"], doc["error_kind"]]).to eq(%w[failed exit_error])
      expect(doc["description"]).to eq("The slicer failed (pages 21-30)")
      expect(settled).to be(true), chunk_states(id).inspect
      expect(chunk_states(id)[2]).to eq("failed")
      expect(state["c2:error"]).to include("after 2 attempts")
      expect(started).to include(0, 1) # the hanging ones
      expect(started.map { |i| chunk_states(id)[i] }).to all(eq("cancelled"))
      expect(latency).to all(be < 1.0)
      expect(pending).to include(4, 5)
      expect(pending.map { |i| chunk_states(id)[i] }).to all(eq("skipped"))
      expect(pending.map { |i| state["c#{i}:started_at"] }).to all(be_nil) # no slicer was started for them
      expect(gone).to be(true), "left running: #{slicers(id).inspect}"
      expect(mails_to(job["email"])).to eq(["We could not process your gazette gazette 1"])
      expect(File.read(File.join(@var, "mails", job["email"]))).to include("Status: error (exit_error)")
    end
  end

  it "finalizes once when every chunk job is delivered twice, during the batch and after it" do
    job = enqueue([[[], 1]]).first
    id = job["id"]
    pushed = {}
    # Each chunk's exact payload (same jid, same args) pushed again as soon as its first delivery claims it.
    deadline = monotonic + 60
    until documents([id]).fetch(id)["mailed_at"] && pushed.size == 6
      raise "the document did not finish within 60 s" if monotonic > deadline

      batch(id).each do |field, jid|
        index = field[/\Ac(\d+):jid\z/, 1]&.to_i
        next if index.nil? || pushed[index]

        pushed[index] = { "class" => "DocumentChunkJob", "args" => [id, index], "jid" => jid, "retry" => 2,
                          "queue" => "document_processing", "created_at" => Time.now.to_f,
                          "enqueued_at" => Time.now.to_f }
        redis.lpush("queue:document_processing", JSON.generate(pushed[index]))
      end
      sleep 0.02
    end
    before = documents([id]).fetch(id)
    redis.lpush("queue:document_processing", pushed.values.map { |payload| JSON.generate(payload) })
    drained = eventually(within: 20, every: 0.1) do
      redis.llen("queue:document_processing").zero? && document_lines(id, "chunk_taken").size == 12
    end
    after = documents([id]).fetch(id)

    aggregate_failures do
      expect(drained).to be(true), "duplicates handled: #{document_lines(id, "chunk_taken").size} of 12"
      expect([after["status"], after["page_count"]]).to eq(["done", 60])
      expect(after["updated_at"]).to eq(before["updated_at"])
      expect(Array.new(6) { |i| batch(id)["c#{i}:duplicates"].to_i }).to all(eq(2))
      expect(document_lines(id, "finish").size).to eq(1)
      expect(document_lines(id, "chunk_done").count { |l| l["outcome"] == "finalize" }).to eq(1)
      expect(mails_to(job["email"])).to eq(["Your gazette gazette 1 is ready (60 pages)"])
    end
  end

  it "fails a batch whose worker was SIGKILLed at the document's deadline; nothing stays stuck" do
    # The first four chunks slow (10 pages x 0.4 s), so each worker is running some when one is killed.
    faults = (0..3).to_h { |i| [i.to_s, ["--slow"]] }
    job = enqueue([[[], 1]], chunk_faults: faults).first
    id = job["id"]
    running = lambda do
      hash = batch(id)
      Array.new(6) { |i| hash["c#{i}:worker"] if hash["c#{i}:state"] == "running" }.compact
    end
    expect(eventually(within: 30, every: 0.05) { running.call.uniq.size == 2 }).to be(true)
    victim = Integer(running.call.first.split(":").last)
    lost = Array.new(6) { |i| i if batch(id)["c#{i}:worker"]&.end_with?(":#{victim}") }.compact
    @stack.kill_worker(victim)
    killed_at = Time.now
    begin
      doc = wait_for_documents([id], within: 30).fetch(id)
      late = Time.parse("#{doc["finished_at"]} UTC") - Time.parse("#{doc["deadline_at"]} UTC")
      puts "\n  SIGKILL: #{lost.size} chunk(s) lost with worker #{victim}; the document failed " \
           "#{late.round(2)} s after its deadline (#{(Time.now - killed_at).round(1)} s after the kill)"
      # The lost chunks' slicers were orphaned; each dies of EPIPE at its next page.
      orphans_gone = eventually(within: 5, every: 0.1) { slicers(id).empty? }

      aggregate_failures do
        expect([doc["status"], doc["error_kind"], doc["description"]]).to eq(["failed", "timeout",
                                                                              "Processing timed out"])
        expect(late).to be_between(0, 0.5 + 1 + 3) # kill_after + 1 s, then the scheduler's poll
        expect(lost).not_to be_empty
        expect(lost.map { |i| chunk_states(id)[i] }).to all(eq("running")) # lost, never to be heard of again
        expect(batch(id)["state"]).to eq("failed")
        expect(mails_to(job["email"])).to eq(["We could not process your gazette gazette 1"])
        expect(orphans_gone).to be(true), "left running: #{slicers(id).inspect}"
        expect(redis.llen("queue:document_processing")).to eq(0)
        expect(redis.zcard("retry")).to eq(0)
        expect(redis.zrangebyscore("schedule", "-inf", Time.now.to_f - 3)).to be_empty
      end
    ensure
      slicers(id).each { |pid, _| kill_pid(pid) } # only if the expectation above failed
      start_worker
    end
  end
end
