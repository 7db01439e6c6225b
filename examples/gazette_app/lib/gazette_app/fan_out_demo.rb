# frozen_string_literal: true

require_relative "demo_documents"

module GazetteApp
  # The second half of bin/demo: a large generated gazette (400 dense pages)
  # sliced serially by one worker, then fanned out over two worker processes
  # (2 chunks of 200 pages, one slicer per worker), the two times side by side; then the same gazette
  # with one chunk that hangs (the whole document fails within its bound), and
  # with one chunk that crashes (the chunks still running are cancelled); no
  # slicer is left. Runs in the demo's process, with the app booted; starts
  # and stops its workers by pid.
  class FanOutDemo
    include DemoDocuments

    PAGES = 400
    # Fan-out: 2 chunks of 200 pages (one per worker: each chunk costs a slicer
    # start, 0.35 s, see docs/fan_out.md); 8 s per slicer run, one retry after
    # at most 0.5 s, 60 s for the whole document; the watchdog's poll 1 s.
    FAN_OUT = { "GAZETTE_FAN_OUT_ABOVE" => "100", "GAZETTE_CHUNK_PAGES" => "200", "GAZETTE_SCRIPT_TIMEOUT" => "8",
                "GAZETTE_KILL_AFTER" => "1", "GAZETTE_CHUNK_RETRIES" => "1", "GAZETTE_CHUNK_BACKOFF" => "0.5",
                "GAZETTE_JOB_DEADLINE" => "60", "GAZETTE_SCHEDULE_POLL" => "1" }.freeze
    # The serial worker never fans out.
    SERIAL = FAN_OUT.merge("GAZETTE_FAN_OUT_ABOVE" => "1000000", "GAZETTE_SCRIPT_TIMEOUT" => "120",
                           "GAZETTE_JOB_DEADLINE" => "180").freeze

    def initialize(stack:, dir:, dashboard:, clock:)
      @stack = stack
      @dir = dir
      @dashboard = dashboard
      @clock = clock
    end

    # @return [Array] slicer processes left running (none, unless something is wrong)
    def run
      pdf = generate
      serial = slice_serially(pdf)
      start_fan_out_workers
      fanned = fan_out(pdf)
      compare(serial, fanned)
      hanging(pdf)
      crashing(pdf)
      ProcessInfo.mentioning(@dir, except: [*@stack.worker_pids, @stack.redis_pid])
    end

    private

    def generate
      pdf = File.join(@dir, "large-gazette.pdf")
      GazetteRunner.run!([GazetteApp.config.python, File.join(GazetteApp::ROOT, "script", "make_sample_gazette.py"),
                          pdf, "--pages", PAGES.to_s, "--notices", "200"], timeout: 60)
      say "generated a #{PAGES}-page gazette (#{(File.size(pdf) / 1e6).round(1)} MB, 200 notices a page)"
      pdf
    end

    def slice_serially(pdf)
      @stack.stop_worker
      pid = @stack.start_worker(concurrency: 1, shutdown_timeout: 3, env: SERIAL)
      say "serial worker: sidekiq pid #{pid}, concurrency 1, no fan-out"
      document = wait(enqueue(pdf, "serial"), within: 120)
      say "##{document.id} serial:     #{document.status} #{document.page_count} pages in " \
          "#{seconds(document.duration)} s (one slicer)"
      @stack.stop_worker(pid)
      document
    end

    def start_fan_out_workers
      pids = Array.new(2) do
        Thread.new { @stack.start_worker(concurrency: 1, shutdown_timeout: 3, env: FAN_OUT) }
      end.map(&:value)
      say "fan-out workers: sidekiq pids #{pids.join(", ")}, concurrency 1 each; chunks of 200 pages, " \
          "slicer timeout 8 s + 1 retry, document deadline 60 s"
    end

    def fan_out(pdf)
      document = wait(enqueue(pdf, "fanned out"), within: 120)
      finish = worker_lines(/"document_id":#{document.id},.*"outcome":"ok"/).first
      say "##{document.id} fanned out: #{document.status} #{document.page_count} pages in " \
          "#{seconds(document.duration)} s (#{document.chunk_count} chunks over 2 workers)"
      if finish
        say "   per chunk: enqueue to start #{finish["enqueue_to_start_ms"].join(", ")} ms; " \
            "fan-in (last chunk's end to the document recorded and mailed) #{finish["fan_in_ms"]} ms"
      end
      document
    end

    def compare(serial, fanned)
      say "serial #{seconds(serial.duration)} s | fanned out #{seconds(fanned.duration)} s | " \
          "speedup #{seconds(serial.duration / fanned.duration)}x"
      say "pages of the fanned-out gazette equal the serial ones, file for file and byte for byte: " \
          "#{same_pages?(serial.files, fanned.files)}"
    end

    def same_pages?(ours, theirs)
      ours.size == theirs.size && ours.zip(theirs).all? do |a, b|
        File.basename(a) == File.basename(b) && File.binread(a) == File.binread(b)
      end
    end

    def hanging(pdf)
      document = enqueue(pdf, "one chunk hangs", chunk_faults: { "0" => ["--hang"] })
      say "##{document.id} enqueued with pages 1-200 hanging"
      show_status(document)
      document = wait(document, within: 60)
      say "##{document.id} #{outcome(document)} after #{seconds(document.duration)} s " \
          "(bound: 2 attempts x (8 s + 1 s) + 0.5 s); mail: #{subject(document)}"
      say "   chunks: #{chunks(document)}"
    end

    def crashing(pdf)
      document = wait(enqueue(pdf, "one chunk crashes", chunk_faults: { "1" => ["--crash"] }), within: 60)
      say "##{document.id} pages 201-400 crash: #{outcome(document)} after #{seconds(document.duration)} s; " \
          "mail: #{subject(document)}"
      latency = settled(document)&.cancel_latencies_ms || []
      say "   chunks: #{chunks(document)}; the #{latency.size} running chunk(s) ended #{latency.join(", ")} ms " \
          "after the failure"
    end

    # One look at the status page while at least two chunks run.
    def show_status(document)
      status = poll(within: 10) { running_status(document.id) }
      return unless status

      chunks = status["chunks"].map { |c| "#{c["pages"]} #{c["state"]}" }.join(", ")
      say "   #{@dashboard.url}/fan_out: #{status["done"]}/#{status["total"]} chunks done, #{chunks}; " \
          "#{status["time_left"].round} s left on the deadline"
    end

    def running_status(id)
      @dashboard.fan_out.find { |s| s["document_id"] == id && s["chunks"].count { |c| c["state"] == "running" } > 1 }
    end
  end
end
