# frozen_string_literal: true

require "json"
require "securerandom"
require "tmpdir"
require_relative "../support/gazette_app_driver"

# The incident of the post-mortem, replayed against the reference app
# (examples/gazette_app): a real redis-server, a real Sidekiq process running
# DocumentProcessingJob, and a slicer that hangs, prints nothing or crashes.
# The app is never loaded into this process: it is driven through Redis, the
# SQLite database and /proc. Every process is started and stopped by pid, and
# leftovers are found by the run's own directory in /proc/*/cmdline.
RSpec.describe "The incident, replayed under Sidekiq", :integration do
  include GazetteAppDriver

  kinds = {
    "normal" => [], "hang" => ["--hang"], "empty" => ["--empty"], "crash" => ["--crash"]
  }.freeze
  expected_kind = { "hang" => "timeout", "empty" => "empty_output", "crash" => "exit_error" }.freeze

  # Short bounds: 3 s for the script, 0.5 s between TERM and KILL, 8 s per job. The script's
  # bound holds while its job thread waits in the progress callback (a SQLite write that
  # waits for the lock): ten healthy slicers starting at once on two cores need that much.
  settings = { "GAZETTE_SCRIPT_TIMEOUT" => "3", "GAZETTE_KILL_AFTER" => "0.5", "GAZETTE_JOB_DEADLINE" => "8" }

  around do |example|
    Dir.mktmpdir("incident-replay-") do |tmp|
      @tmp = tmp
      # Only the slicers' argv mentions this directory (the PDF and --out are in it).
      @var = File.join(tmp, "work-#{SecureRandom.hex(6)}")
      example.run
    ensure
      @stack&.stop_all
    end
  end

  def start_stack(settings, concurrency:, shutdown_timeout:)
    GazetteApp::Stack.bundle!
    @env = settings.merge("GAZETTE_VAR_DIR" => @var)
    @stack = GazetteApp::Stack.new(dir: @tmp, env: @env).start_redis
    @stack.start_worker(concurrency:, shutdown_timeout:)
    @env = @env.merge("REDIS_URL" => @stack.redis_url)
    FileUtils.mkdir_p(@var)
    @pdf = make_gazette(File.join(@var, "sample-gazette.pdf"), pages: 3)
  end

  def info = GazetteApp::ProcessInfo

  # The worker's descriptors by kind: the pools' (Redis sockets, SQLite files),
  # which may grow lazily up to the pools' sizes, and every other one (pipes,
  # pidfds, files), which must not grow at all.
  def fd_kinds(pid)
    targets = Dir.glob("/proc/#{pid}/fd/*").filter_map do |fd|
      File.readlink(fd).sub(/\[\d+\]/, "")
    rescue Errno::ENOENT
      nil
    end
    sqlite, rest = targets.partition { |t| t.include?("gazette.sqlite3") }
    sockets, others = rest.partition { |t| t == "socket:" }
    { sockets: sockets.size, sqlite_connections: sqlite.count { |t| t.end_with?(".sqlite3") }, others: others.sort }
  end

  def slicers = info.mentioning(@var, except: [@stack.worker_pid, @stack.redis_pid].compact)

  def worker_redis_connections
    @stack.redis.client(:list).count { |client| client["name"] == "gazette-worker-#{@stack.worker_pid}" }
  end

  def summary(kinds) = kinds.merge(others: kinds[:others].size)

  # Samples the worker's Redis connections, clients and descriptors while the block runs.
  def sampling
    peaks = Hash.new(0)
    sampler = Thread.new do
      loop do
        peaks[:worker_connections] = [peaks[:worker_connections], worker_redis_connections].max
        clients = @stack.redis.info("clients")["connected_clients"].to_i
        peaks[:connected_clients] = [peaks[:connected_clients], clients].max
        peaks[:fds] = [peaks[:fds], info.fd_count(@stack.worker_pid)].max
        sleep 0.25
      end
    end
    yield
    peaks
  ensure
    sampler&.kill&.join(5)
  end

  it "bounds 200 jobs (a quarter hang, a quarter print nothing, a quarter crash), mails every user, leaks nothing" do
    start_stack(settings, concurrency: 10, shutdown_timeout: 3)
    worker = @stack.worker_pid

    warm = enqueue(kinds.transform_values { 10 }.to_a.map { |name, count| [kinds[name], count] })
    wait_for_documents(warm.map { |j| j["id"] }, within: 120)
    sleep 1 # let the worker settle (heartbeat, GC) before measuring
    rss_warm = info.rss(worker)
    fds_warm = info.fd_count(worker)
    kinds_warm = fd_kinds(worker)

    jobs = nil
    docs = nil
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    peaks = sampling do
      jobs = enqueue(kinds.values.map { |flags| [flags, 50] })
      docs = wait_for_documents(jobs.map { |j| j["id"] }, within: 150)
    end
    flood = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    sleep 1
    rss_after = info.rss(worker)
    fds_after = info.fd_count(worker)
    kinds_after = fd_kinds(worker)
    puts format("\n  incident replay: 200 jobs in %.1f s; worker RSS %.1f MB after warm-up, %.1f MB after; " \
                "fds %d -> %d (peak %d; %s -> %s); worker Redis connections peak %d, connected_clients peak %d",
                flood, rss_warm / 1e6, rss_after / 1e6, fds_warm, fds_after, peaks[:fds],
                summary(kinds_warm), summary(kinds_after),
                peaks[:worker_connections], peaks[:connected_clients])

    aggregate_failures do
      expect(jobs.size).to eq(200)
      expect(jobs.map { |j| j["flags"] }.tally.values).to all(eq(50))
      bound = 3 + 0.5 + 1.5 # script timeout + kill_after + slack for a loaded machine
      jobs.each do |job|
        doc = docs.fetch(job["id"])
        name = kinds.key(job["flags"])
        expect(doc["duration"]).to be < bound, "#{name} job #{doc["id"]} ran #{doc["duration"]} s"
        mail = File.read(File.join(@var, "mails", job["email"]))
        if name == "normal"
          files = JSON.parse(doc["files"])
          expect([doc["status"], doc["page_count"], files.size]).to eq(["done", 3, 3])
          expect(files).to all(satisfy { |f| File.binread(f, 5) == "%PDF-" })
          expect(doc["progress_percent"]).to eq(100)
          expect(mail).to include("Subject: Your gazette", "Status: success")
        else
          expect([doc["status"], doc["error_kind"], doc["page_count"]]).to eq(["failed", expected_kind[name], 0])
          expect(mail).to include("Subject: We could not process", "Status: error (#{expected_kind[name]})")
        end
      end
      expect(eventually(within: 3) { slicers.empty? }).to be(true), "left running: #{slicers.inspect}"
      expect(rss_after).to be <= (rss_warm * 1.10) + (8 * 1024 * 1024)
      new_fds = kinds_after[:others].tally.to_a - kinds_warm[:others].tally.to_a
      expect(kinds_after[:others].size).to be <= kinds_warm[:others].size, "new descriptors: #{new_fds}"
      expect(kinds_after[:sockets]).to be <= 25 # the Redis pool's size
      expect(kinds_after[:sqlite_connections]).to be <= 10 # the job threads (the pool releases after each job)
      expect(peaks[:worker_connections]).to be_between(1, 25)
      # The worker's pool, this spec's connection, and bin/enqueue's client.
      expect(peaks[:connected_clients]).to be <= 25 + 2
    end
  end

  it "leaves no slicer behind when Sidekiq shuts down mid-job, even one that ignores SIGTERM" do
    start_stack(settings.merge("GAZETTE_SCRIPT_TIMEOUT" => "60", "GAZETTE_JOB_DEADLINE" => "120"),
                concurrency: 10, shutdown_timeout: 1)
    jobs = enqueue([[%w[--hang --ignore-term], 4], [%w[--hang], 3], [%w[--hang --ignore-term --leave-grandchild], 3],
                    [[], 5]])
    hanging = jobs.reject { |j| j["flags"].empty? }.map { |j| j["id"] }
    running = eventually(within: 30, every: 0.1) do
      documents(hanging).values.all? { |d| d["status"] == "processing" } && slicers.size >= 16
    end
    expect(running).to be(true), "not all slicers started: #{slicers.size} processes"
    seen = slicers.map(&:first)

    worker = @stack.worker_pid
    Process.kill(:TERM, worker)
    status = nil
    shutdown = elapsed { status = bounded_wait(worker, 20) }
    @stack.reaped(worker)
    puts "\n  shutdown mid-run: worker exited #{shutdown.round(1)} s after TERM; " \
         "#{seen.size} slicer processes were running"

    aggregate_failures do
      # -t 1, Sidekiq's 3 s for ensure blocks, and the gem's capped grace.
      expect(shutdown).to be < 8
      expect(status.exitstatus).to eq(0)
      expect(seen.select { |pid| alive?(pid) }).to be_empty
      expect(eventually(within: 3) { slicers.empty? }).to be(true), "left running: #{slicers.inspect}"
      log = File.read(File.join(@tmp, "sidekiq.log"))
      expect(log.scan(/"outcome":"interrupted"/).size).to eq(hanging.size)
      # Sidekiq put the interrupted jobs back on the queue, to run again after the restart.
      queued = @stack.redis.lrange("queue:document_processing", 0, -1).map { |job| JSON.parse(job)["args"].first }
      expect(queued).to include(*hanging)
    end
  end
end
