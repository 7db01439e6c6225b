# frozen_string_literal: true

require "json"
require "rack"

module GazetteApp
  # The status page of fanned-out documents, a Rack app: each batch of the
  # last hour (DocumentBatch.statuses) with its chunks done out of total, each
  # chunk's outcome and the time left on the document's deadline. `/` is an
  # HTML page that refreshes itself every 2 s, `/documents.json` the same as
  # JSON. Read-only; it reads Redis only. Mounted next to Sidekiq's UI by the
  # demo's dashboard (a production app mounts it in its own routes, behind
  # the same authentication as Sidekiq's).
  class FanOutStatus
    # @param redis [Redis] a connection of its own
    def initialize(redis:)
      @redis = redis
    end

    def call(env)
      now = Time.now.to_f
      statuses = DocumentBatch.statuses(@redis)
      case env["PATH_INFO"]
      when "", "/" then [200, { "content-type" => "text/html; charset=utf-8" }, [page(statuses, now)]]
      when "/documents.json"
        [200, { "content-type" => "application/json" }, [JSON.generate(statuses.map { |s| s.to_h(now) })]]
      else [404, { "content-type" => "text/plain" }, ["not found"]]
      end
    end

    private

    def page(statuses, now)
      rows = statuses.map { |status| row(status, now) }.join
      <<~HTML
        <!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
        <title>Gazettes in progress</title>
        <style>body{font:14px sans-serif}td,th{padding:2px 8px;text-align:left;vertical-align:top}
        .done{color:#070}.failed{color:#b00}.cancelled,.skipped{color:#888}.running{color:#06c}</style></head>
        <body><h1>Gazettes sliced in chunks</h1>
        <table><tr><th>document</th><th>state</th><th>chunks done</th><th>deadline</th><th>chunks</th></tr>
        #{rows.empty? ? "<tr><td colspan=5>none in the last hour</td></tr>" : rows}</table></body></html>
      HTML
    end

    def row(status, now)
      "<tr><td>##{status.document_id} #{h(status.title)}</td>#{state_cell(status)}" \
        "<td>#{status.done} / #{status.total}</td><td>#{deadline(status, now)}</td>" \
        "<td>#{status.chunks.map { |chunk| chunk_cell(chunk) }.join("<br>")}</td></tr>\n"
    end

    def state_cell(status)
      state = [status.state, status.error_kind && "(#{status.error_kind})"].compact.join(" ")
      "<td class=\"#{h(status.state)}\">#{h(state)}</td>"
    end

    def chunk_cell(chunk)
      "<span class=\"#{h(chunk.state)}\" title=\"#{h(chunk.error || chunk.worker)}\">" \
        "#{h(chunk.pages)}: #{h(chunk.state)}</span>"
    end

    def deadline(status, now)
      return "ended" unless status.in_progress?

      left = status.time_left(now)
      left.positive? ? format("%<minutes>d:%<seconds>02d left", minutes: left / 60, seconds: left % 60) : "passed"
    end

    def h(text) = Rack::Utils.escape_html(text.to_s)
  end
end
