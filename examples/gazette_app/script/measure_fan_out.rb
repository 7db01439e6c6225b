# frozen_string_literal: true

# Measures the fan-out (docs/fan_out.md) on a generated gazette, in two ways:
#
# 1. CPU seconds of each slicer run (the page count, the whole gazette, each
#    chunk of each chunk size, one page), from the kernel's accounting of
#    reaped children: what the work costs, whatever else the machine runs.
# 2. Wall time through Sidekiq: the document sliced serially by one worker,
#    then fanned out over two worker processes (concurrency 1 each),
#    alternately, `--runs` times; with the split (start to chunks enqueued),
#    the chunks, the fan-in, and enqueue to start of the chunks.
#
#   BUNDLE_GEMFILE=examples/gazette_app/Gemfile bundle exec ruby \
#     examples/gazette_app/script/measure_fan_out.rb [--pages 400] [--chunks 50,100,200] [--runs 3]
require "json"
require "optparse"
require "tmpdir"
require_relative "../lib/gazette_app/stack"

options = { pages: 400, chunks: [50, 100, 200], runs: 3, notices: 200, fan_out_chunk: 100 }
OptionParser.new do |opts|
  opts.on("--pages N", Integer) { |n| options[:pages] = n }
  opts.on("--notices N", Integer) { |n| options[:notices] = n }
  opts.on("--chunks LIST", Array) { |list| options[:chunks] = list.map { |n| Integer(n) } }
  opts.on("--fan-out-chunk N", Integer) { |n| options[:fan_out_chunk] = n }
  opts.on("--runs N", Integer) { |n| options[:runs] = n }
  opts.on("--skip-cpu", "only the runs through Sidekiq") { options[:skip_cpu] = true }
end.parse!

dir = Dir.mktmpdir("gazette-measure-")
base = { "GAZETTE_VAR_DIR" => dir, "GAZETTE_SCRIPT_TIMEOUT" => "600", "GAZETTE_JOB_DEADLINE" => "1200",
         "GAZETTE_CHUNK_RETRIES" => "0" }
ENV.update(base)
stack = GazetteApp::Stack.new(dir:, env: base)
median = ->(values) { values.sort[values.size / 2] }
monotonic = -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }
load_average = -> { File.read("/proc/loadavg").split.first(3).join(" ") }

begin
  stack.start_redis
  ENV["REDIS_URL"] = stack.redis_url
  require_relative "../config/boot"
  GazetteApp.logger = Logger.new(File::NULL)
  GazetteRunner.logger = nil
  pdf = File.join(dir, "gazette.pdf")
  GazetteRunner.run!([GazetteApp.config.python, File.join(GazetteApp::ROOT, "script", "make_sample_gazette.py"), pdf,
                      "--pages", options[:pages].to_s, "--notices", options[:notices].to_s], timeout: 120)
  puts "#{options[:pages]} pages, #{options[:notices]} notices a page, #{(File.size(pdf) / 1e6).round(1)} MB; " \
       "load average #{load_average.call} at the start"

  # 1. CPU seconds (user + system) of slicer runs, one at a time, median of 3.
  out = File.join(dir, "probe")
  FileUtils.mkdir_p(out)
  cpu = lambda do |*flags, times: 3|
    median.call(Array.new(times) do
      before = Process.times
      GazetteRunner.run!([GazetteApp.config.python, GazetteApp.config.slicer, pdf, "--out", out, *flags], timeout: 600)
      after = Process.times
      (after.cutime - before.cutime) + (after.cstime - before.cstime)
    end)
  end
  costs = nil
  unless options[:skip_cpu]
    costs = { count: cpu.call("--count"), one_page: cpu.call("--pages", "1-1"), whole: cpu.call }
    costs[:chunks] = options[:chunks].to_h do |size|
      ranges = (1..options[:pages]).step(size).map { |first| "#{first}-#{[first + size - 1, options[:pages]].min}" }
      [size, ranges.sum { |range| cpu.call("--pages", range, times: 1) }]
    end
    puts "CPU s: count #{costs[:count].round(3)}, one page #{costs[:one_page].round(3)}, " \
         "whole gazette #{costs[:whole].round(2)}, all chunks of " +
         costs[:chunks].map { |size, seconds| "#{size}: #{seconds.round(2)}" }.join(", ")
  end

  # 2. Wall time through Sidekiq, serial and fanned out alternately.
  run = lambda do |label|
    user = User.create!(email: "measure-#{User.count}@example.test")
    document = user.documents.create!(title: label, source_path: pdf)
    DocumentProcessingJob.perform_async(document.id)
    deadline = monotonic.call + 1200
    sleep 0.05 until document.reload.finished? || monotonic.call > deadline
    raise "#{label}: #{document.status} #{document.error_message}" unless document.status == "done"

    document
  end
  workers = lambda do |count, env|
    stack.worker_pids.each { |pid| stack.stop_worker(pid) }
    Array.new(count) { Thread.new { stack.start_worker(concurrency: 1, shutdown_timeout: 3, env:) } }.each(&:join)
    sleep 1 # let the workers settle (heartbeat, scheduler)
  end
  serial_env = { "GAZETTE_FAN_OUT_ABOVE" => "1000000" }
  fan_out_env = { "GAZETTE_FAN_OUT_ABOVE" => "1", "GAZETTE_CHUNK_PAGES" => options[:fan_out_chunk].to_s }
  pairs = Array.new(options[:runs]) do
    workers.call(1, serial_env)
    serial = run.call("serial").duration
    workers.call(2, fan_out_env)
    document = run.call("fan-out")
    status = DocumentBatch.new(document.id).status
    ends = status.chunks.map(&:finished_at)
    parts = { split: status.created_at - document.started_at.to_f, chunks: ends.max - status.created_at,
              fan_in_ms: ((document.finished_at.to_f - ends.max) * 1000).round(1),
              enqueue_to_start_ms: status.overheads[:enqueue_to_start_ms] }
    puts "serial #{serial.round(2)} s, fanned out #{document.duration.round(2)} s " \
         "(speedup #{(serial / document.duration).round(2)}); #{parts.to_json}; load #{load_average.call}"
    [serial, document.duration]
  end
  speedups = pairs.map { |serial, fanned| serial / fanned }
  puts "median: serial #{median.call(pairs.map(&:first)).round(2)} s, " \
       "fanned out #{median.call(pairs.map(&:last)).round(2)} s, speedup #{median.call(speedups).round(2)} " \
       "(2 workers, chunks of #{options[:fan_out_chunk]}); " \
       "load average #{load_average.call} at the end"
  puts JSON.generate(costs:, pairs:)
ensure
  stack.stop_all
  FileUtils.rm_rf(dir)
end
