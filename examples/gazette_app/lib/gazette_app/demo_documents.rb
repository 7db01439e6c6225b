# frozen_string_literal: true

module GazetteApp
  # What the demo does with documents: enqueue one as an upload would, wait
  # for it (bounded), and say how it went. Needs @clock (a lambda giving the
  # time since the demo started) and @dir (the demo's directory).
  module DemoDocuments
    private

    def say(text) = puts("#{@clock.call}  #{text}")

    def seconds(value) = format("%.2f", value)

    def outcome(document) = "#{document.status} #{document.error_kind} (#{document.description})"
    def subject(document) = File.read(File.join(GazetteApp.config.mail_dir, document.user.email))[/^Subject: (.*)$/, 1]
    def chunks(document) = DocumentBatch.new(document.id).status.chunks.map { |c| "#{c.pages} #{c.state}" }.join(", ")

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

    # The batch once every chunk ended: the document is recorded as soon as the
    # batch fails, its running chunks end just after.
    def settled(document)
      poll(within: 5) do
        status = DocumentBatch.new(document.id).status
        status unless status.chunks.any? { |chunk| %w[pending running].include?(chunk.state) }
      end
    end

    # The block's first truthy value, polled every 0.1 s for at most `within` seconds; nil if none.
    def poll(within:)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + within
      while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
        value = yield
        return value if value

        sleep 0.1
      end
    end
  end
end
