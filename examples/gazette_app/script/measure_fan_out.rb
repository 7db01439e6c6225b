# frozen_string_literal: true

# Measures the fan-out (docs/fan_out.md): a generated gazette sliced serially
# by one worker, then fanned out over one and over two worker processes
# (concurrency 1 each) at several chunk sizes, each run `--runs` times;
# prints the medians and the parts of a fanned-out run (the split before the
# chunks, the chunks, the fan-in), read from the database, Redis and the log.
#
#   BUNDLE_GEMFILE=examples/gazette_app/Gemfile bundle exec ruby \
#     examples/gazette_app/script/measure_fan_out.rb [--pages 400] [--chunks 50,100,200] [--runs 3]
require "json"
require "optparse"
require "tmpdir"
require_relative "../lib/gazette_app/stack"

options = { pages: 400, chunks: [50, 100, 200], runs: 3, notices: 200 }
OptionParser.new do |opts|
  opts.on("--pages N", Integer) { |n| options[:pages] = n }
  opts.on("--notices N", Integer) { |n| options[:notices] = n }
  opts.on("--chunks LIST", Array) { |list| options[:chunks] = list.map { |n| Integer(n) } }
  opts.on("--runs N", Integer) { |n| options[:runs] = n }
end.parse!

dir = Dir.mktmpdir("gazette-measure-")
base = { "GAZETTE_VAR_DIR" => dir, "GAZETTE_SCRIPT_TIMEOUT" => "300", "GAZETTE_JOB_DEADLINE" => "600",
         "GAZETTE_CHUNK_RETRIES" => "0" }
ENV.update(base)
stack = GazetteApp::Stack.new(dir:, env: base)
median = ->(values) { values.sort[values.size / 2] }
monotonic = -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }

begin
  stack.start_redis
  ENV["REDIS_URL"] = stack.redis_url
  require_relative "../config/boot"
  GazetteApp.logger = Logger.new(File::NULL)
  GazetteRunner.logger = nil
  pdf = File.join(dir, "gazette.pdf")
  GazetteRunner.run!([GazetteApp.config.python, File.join(GazetteApp::ROOT, "script", "make_sample_gazette.py"), pdf,
                      "--pages", options[:pages].to_s, "--notices", options[:notices].to_s], timeout: 120)

  # The slicer's fixed cost per run: interpreter, pypdf, the PDF's cross-reference table.
  out = File.join(dir, "probe")
  FileUtils.mkdir_p(out)
  fixed = Array.new(5) do
    started = monotonic.call
    GazetteRunner.run!([GazetteApp.config.python, GazetteApp.config.slicer, pdf, "--out", out, "--count"], timeout: 60)
    monotonic.call - started
  end
  puts format("slicer fixed cost (--count: start, import pypdf, read the PDF): median %.3f s", median.call(fixed))

  run = lambda do |label|
    user = User.create!(email: "measure-#{User.count}@example.test")
    document = user.documents.create!(title: label, source_path: pdf)
    DocumentProcessingJob.perform_async(document.id)
    deadline = monotonic.call + 600
    sleep 0.05 until document.reload.finished? || monotonic.call > deadline
    raise "#{label}: #{document.status} #{document.error_message}" unless document.status == "done"

    document
  end

  workers = lambda do |count, env|
    stack.worker_pids.each { |pid| stack.stop_worker(pid) }
    Array.new(count) { Thread.new { stack.start_worker(concurrency: 1, shutdown_timeout: 3, env:) } }.each(&:join)
    sleep 1 # let the workers settle (heartbeat, scheduler)
  end

  rows = []
  workers.call(1, { "GAZETTE_FAN_OUT_ABOVE" => "1000000" })
  serial = Array.new(options[:runs]) { run.call("serial").duration }
  rows << ["serial, 1 worker", 1, median.call(serial), nil, nil, nil]
  [1, 2].each do |count|
    options[:chunks].each do |size|
      workers.call(count, { "GAZETTE_FAN_OUT_ABOVE" => "1", "GAZETTE_CHUNK_PAGES" => size.to_s })
      parts = Array.new(options[:runs]) do
        document = run.call("fan-out #{count}x#{size}")
        status = DocumentBatch.new(document.id).status
        split = status.created_at - document.started_at.to_f
        chunks = status.chunks.map(&:finished_at).max - status.created_at
        [document.duration, split, chunks, document.finished_at.to_f - status.chunks.map(&:finished_at).max]
      end
      picked = parts.min_by { |p| (p.first - median.call(parts.map(&:first))).abs }
      rows << ["#{(options[:pages] + size - 1) / size} chunks of #{size}, #{count} worker(s)", count, *picked]
    end
  end

  header = ["run (median of #{options[:runs]})", "workers", "total s", "speedup", "split s", "chunks s", "fan-in ms"]
  puts header.first.ljust(34) + header.drop(1).map { |title| title.rjust(10) }.join
  rows.each do |label, count, total, *parts|
    split, chunks, fan_in = parts
    cells = [count, total.round(2), (rows.first[2] / total).round(2), split&.round(2), chunks&.round(2),
             fan_in && (fan_in * 1000).round]
    puts label.ljust(34) + cells.map { |cell| cell.to_s.rjust(10) }.join
  end
  puts JSON.generate(fixed: median.call(fixed), rows:)
ensure
  stack.stop_all
  FileUtils.rm_rf(dir)
end
