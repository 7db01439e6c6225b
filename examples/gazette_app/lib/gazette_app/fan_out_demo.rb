# frozen_string_literal: true

module GazetteApp
  # The second half of bin/demo: a large generated gazette (400 dense pages)
  # sliced serially by one worker, then fanned out over two worker processes
  # (4 chunks of 100 pages), the two times side by side; then the same gazette
  # with one chunk that hangs (the whole document fails within its bound), and
  # with one chunk that crashes (the chunks still running are cancelled); no
  # slicer is left. Runs in the demo's process, with the app booted; starts
  # and stops its workers by pid.
  class FanOutDemo
    PAGES = 400
    # Fan-out: 4 chunks of 100 pages; 6 s per slicer run, one retry after at
    # most 0.5 s, 60 s for the whole document; the watchdog's poll 1 s.
    FAN_OUT = { "GAZETTE_FAN_OUT_ABOVE" => "100", "GAZETTE_CHUNK_PAGES" => "100", "GAZETTE_SCRIPT_TIMEOUT" => "6",
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

    def say(text) = puts("#{@clock.call}  #{text}")

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
          "#{format("%.2f", document.duration)} s (one slicer)"
      @stack.stop_worker(pid)
      document
    end

    def start_fan_out_workers
      pids = Array.new(2) do
        Thread.new { @stack.start_worker(concurrency: 2, shutdown_timeout: 3, env: FAN_OUT) }
      end.map(&:value)
      say "fan-out workers: sidekiq pids #{pids.join(", ")}, concurrency 2 each; chunks of 100 pages, " \
          "slicer timeout 6 s + 1 retry, document deadline 60 s"
    end

    def fan_out(pdf)
      document = wait(enqueue(pdf, "fanned out"), within: 120)
      finish = worker_lines(/"document_id":#{document.id},.*"outcome":"ok"/).first
      say "##{document.id} fanned out: #{document.status} #{document.page_count} pages in " \
          "#{format("%.2f", document.duration)} s (#{document.chunk_count} chunks over 2 workers)"
      if finish
        say "   per chunk: enqueue to start #{finish["enqueue_to_start_ms"].join(", ")} ms; " \
            "fan-in (last chunk's end to the document recorded and mailed) #{finish["fan_in_ms"]} ms"
      end
      document
    end

    def compare(serial, fanned)
      say "serial #{format("%.2f", serial.duration)} s | fanned out #{format("%.2f", fanned.duration)} s | " \
          "speedup #{format("%.2f", serial.duration / fanned.duration)}x"
      same = serial.files.size == fanned.files.size &&
             serial.files.zip(fanned.files).all? do |a, b|
               File.basename(a) == File.basename(b) && File.binread(a) == File.binread(b)
             end
      say "pages of the fanned-out gazette equal the serial ones, file for file and byte for byte: #{same}"
    end

    def hanging(pdf)
      document = enqueue(pdf, "one chunk hangs", chunk_faults: { "0" => ["--hang"] })
      say "##{document.id} enqueued with pages 1-100 hanging"
      show_status(document)
      document = wait(document, within: 60)
      say "##{document.id} #{outcome(document)} after #{format("%.2f", document.duration)} s " \
          "(bound: 2 attempts x (6 s + 1 s) + 0.5 s); mail: #{subject(document)}"
      say "   chunks: #{chunks(document)}"
    end

    def crashing(pdf)
      document = wait(enqueue(pdf, "one chunk crashes", chunk_faults: { "1" => ["--crash"] }), within: 60)
      status = DocumentBatch.new(document.id).status
      cancelled = status.chunks.select { |c| c.state == "cancelled" }
      latency = cancelled.map { |c| ((c.finished_at - status.failed_at) * 1000).round }
      say "##{document.id} pages 101-200 crash: #{outcome(document)} after #{format("%.2f", document.duration)} s; " \
          "mail: #{subject(document)}"
      say "   chunks: #{chunks(document)}; the #{cancelled.size} running chunk(s) ended #{latency.join(", ")} ms " \
          "after the failure"
    end

    def outcome(document) = "#{document.status} #{document.error_kind} (#{document.description})"
    def subject(document) = File.read(File.join(GazetteApp.config.mail_dir, document.user.email))[/^Subject: (.*)$/, 1]
    def chunks(document) = DocumentBatch.new(document.id).status.chunks.map { |c| "#{c.pages} #{c.state}" }.join(", ")

    # One look at the status page while the chunks run.
    def show_status(document)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
      while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
        status = @dashboard.fan_out.find { |s| s["document_id"] == document.id }
        if status && status["chunks"].count { |c| c["state"] == "running" } >= 2
          chunks = status["chunks"].map { |c| "#{c["pages"]} #{c["state"]}" }.join(", ")
          return say "   #{@dashboard.url}/fan_out: #{status["done"]}/#{status["total"]} chunks done, " \
                     "#{chunks}; #{status["time_left"].round} s left on the deadline"
        end
        sleep 0.1
      end
    end

    def enqueue(pdf, name, chunk_faults: {})
      user = User.create!(email: "#{name.tr(" ", "-")}-reader@example.test")
      document = user.documents.create!(title: "large gazette (#{name})", source_path: pdf)
      DocumentProcessingJob.perform_async(document.id, [], chunk_faults)
      document
    end

    def wait(document, within:)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + within
      until document.reload.finished? && document.mailed_at
        raise "##{document.id} did not finish within #{within} s" if
          Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.1
      end
      document
    end

    def worker_lines(pattern)
      Dir.glob(File.join(@dir, "sidekiq*.log")).flat_map { |log| File.foreach(log).grep(pattern) }
         .filter_map { |line| JSON.parse(line[/\{"document_processing".*\}/] || "null") }
    end
  end
end
