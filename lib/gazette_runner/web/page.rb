# frozen_string_literal: true

# An HTML template written as Ruby: every table cell is a method call, so
# the ABC metric measures the page's width, not its logic.
# rubocop:disable Metrics/AbcSize, Metrics/ClassLength

module GazetteRunner
  class Web
    # The dashboard page for a {Fleet::View}: alerts first (for whoever was
    # paged), then what runs now, outcomes, breakers and workers. Plain HTML,
    # one inline stylesheet, an inline SVG chart; no JavaScript.
    class Page
      include Format

      # The page's stylesheet, scoped to `.gazette` so it can sit inside Sidekiq's layout.
      CSS = <<~CSS
        .gazette{font:14px/1.4 system-ui,sans-serif;color:#222;max-width:1100px;margin:0 auto;padding:8px}
        .gazette h1{font-size:20px;margin:4px 0}.gazette h2{font-size:17px;margin:18px 0 6px}.gazette h3{font-size:14px;margin:10px 0 4px}
        .gazette .scroll{overflow-x:auto}.gazette table{border-collapse:collapse;width:100%}
        .gazette th,.gazette td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
        .gazette th{background:#f4f4f4}.gazette td.n{text-align:right;white-space:nowrap}
        .gazette code{font-size:12px;word-break:break-all}.gazette .muted{color:#777}
        .gazette .bad{background:#fde2e1;color:#900;font-weight:600}.gazette .warn{background:#fff3cd}
        .gazette .good{color:#176d2c}.gazette .firing{background:#c62828;color:#fff;padding:1px 6px;border-radius:3px}
        .gazette .ok{background:#2e7d32;color:#fff;padding:1px 6px;border-radius:3px}
        .gazette svg{max-width:100%;height:auto;background:#fafafa}
      CSS

      # Alert names as a human reads them.
      ALERT_TITLES = {
        "long_job" => "Job running too long", "worker_memory" => "Worker memory",
        "success_rate" => "Success rate (last hour)", "dead_jobs" => "Jobs added to the dead set (last hour)"
      }.freeze
      # Outcomes that count as failures in the chart.
      FAILED = Event::FAILURES.map(&:to_s).freeze

      # @param view [Fleet::View]
      # @param base [String] the URL path the dashboard is mounted at
      # @param nonce [String, nil] the Content-Security-Policy nonce of the
      #   response, borne by the `<style>` (Sidekiq 8's CSP needs it)
      def initialize(view, base: "", nonce: nil)
        @view = view
        @base = base.chomp("/")
        @nonce = nonce
      end

      # @return [String] a whole HTML document
      def html
        <<~HTML
          <!DOCTYPE html>
          <html lang="en"><head><meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <meta http-equiv="refresh" content="#{[@view.config.interval.ceil, 5].max}">
          <title>gazette_runner job health</title></head>
          <body>#{fragment}</body></html>
        HTML
      end

      # @return [String] the page's content alone, to sit in another layout
      def fragment
        firing = @view.alert_report.count { |a| a["firing"] }
        <<~HTML
          <style#{%( nonce="#{h(@nonce)}") if @nonce}>#{CSS}</style>
          <div class="gazette" id="gazette">
          <h1>gazette_runner job health</h1>
          <p class="muted">#{h(@view.processes.size)} worker processes live, #{firing} alerts firing ·
          read #{h(time(@view.now))} · <a href="#{h(@base)}#{JSON_PATH}">stats.json</a></p>
          #{alerts}#{running}#{jobs}#{outcomes}#{breakers}#{workers}
          </div>
        HTML
      end

      private

      def table(id, headers, rows, empty)
        return %(<p class="muted" id="#{id}">#{h(empty)}</p>) if rows.empty?

        head = headers.map { |header| "<th>#{h(header)}</th>" }.join
        %(<div class="scroll"><table id="#{id}"><thead><tr>#{head}</tr></thead><tbody>\n#{rows.join("\n")}
          </tbody></table></div>)
      end

      def section(title, *table_arguments) = "<h2>#{h(title)}</h2>#{table(*table_arguments)}"

      def row(cells, attributes = "") = "<tr#{attributes}>#{cells.join}</tr>"

      def cell(text, klass = nil) = klass ? %(<td class="#{klass}">#{text}</td>) : "<td>#{text}</td>"

      def alerts
        rows = @view.alert_report.map do |alert|
          status = alert["firing"] ? %(<span class="firing">FIRING</span>) : %(<span class="ok">ok</span>)
          row([cell(text(ALERT_TITLES.fetch(alert["name"], alert["name"]))), cell(status),
               cell(h(alert_value(alert["name"], alert["value"])), "n"),
               cell(h(alert_value(alert["name"], alert["threshold"])), "n"),
               cell(alert["since"] ? h(time(alert["since"])) : "–"), cell(text(alert["detail"]))],
              %( data-alert="#{h(alert["name"])}" data-firing="#{alert["firing"]}"))
        end
        "<h2>Alerts</h2>#{table("alerts", %w[Condition Status Value Threshold Since Detail], rows, "")}"
      end

      def running
        rows = @view.children.map do |child|
          over = child["elapsed"] > @view.config.long_job_seconds
          row([cell(text(child["host"])), cell(h(child["worker_pid"]), "n"), cell(h(child["pid"]), "n"),
               cell("<code>#{text(Array(child["argv"]).join(" "))}</code>"),
               cell("#{h(duration(child["elapsed"]))} / #{h(duration(child["bound"]))}", over ? "n bad" : "n"),
               cell(h(bytes(child["rss"])), "n"), cell(progress(child["progress"]))], %( class="child"))
        end
        section("Running now", "running",
                ["Host", "Worker", "Child pid", "Program", "Elapsed / bound", "RSS", "Progress"], rows,
                "No program is running under gazette_runner.")
      end

      def progress(progress)
        return %(<span class="muted">–</span>) unless progress

        "#{h(progress["percent"])}%#{" #{text(progress["message"])}" if progress["message"]}"
      end

      def jobs
        return "" if @view.jobs.empty?

        rows = @view.jobs.map do |job|
          over = job["elapsed"] > @view.config.long_job_seconds
          row([cell(text(job["host"])), cell(h(job["worker_pid"]), "n"), cell(text(job["class"])),
               cell(text(job["queue"])),
               cell("<code>#{text(job["jid"])}</code>"), cell(h(duration(job["elapsed"])), over ? "n bad" : "n")])
        end
        "<h2>Jobs running</h2>#{table("jobs", %w[Host Worker Job Queue JID Elapsed], rows, "")}"
      end

      def outcomes
        hour = @view.summary(3600)
        day = @view.summary(24 * 3600)
        rows = Event::OUTCOMES.map(&:to_s).map do |outcome|
          row([cell(h(outcome)), cell(h(hour["counts"][outcome]), "n"), cell(h(day["counts"][outcome]), "n")])
        end
        rows += summary_rows(hour, day)
        "<h2>Outcomes</h2>#{table("outcomes", ["", "Last hour", "Last 24 hours"], rows, "")}#{chart}"
      end

      def summary_rows(hour, day)
        [["runs", :to_s.to_proc], ["success rate", method(:percent)], ["p50", method(:duration)],
         ["p95", method(:duration)], ["p99", method(:duration)], ["peak child RSS", method(:bytes)]]
          .map do |label, show|
            key = { "runs" => "runs", "success rate" => "success_rate", "peak child RSS" => "peak_rss" }
                  .fetch(label, label)
            row([cell("<strong>#{h(label)}</strong>"), cell(h(show.call(hour[key])), "n"),
                 cell(h(show.call(day[key])), "n")])
          end
      end

      # Stacked bars, one per 5 minutes of the last 24 hours: ok below, failures above.
      def chart
        starts = Fleet::View.window_starts(@view.now)
        by_start = @view.windows.to_h { |w| [w.started_at, w.counts] }
        tallest = [by_start.values.map { |c| c.values.sum }.max || 0, 1].max
        bars = starts.each_with_index.filter_map { |start, i| bar(i, by_start[start], tallest) }
        <<~SVG
          <h3>Outcomes per 5 minutes, last 24 hours <span class="muted">(green ok, red failed; most: #{tallest})</span></h3>
          <svg id="chart" viewBox="0 0 #{starts.size * 3} 100" width="#{starts.size * 3}" height="100" role="img"
          aria-label="outcomes per 5 minutes">#{bars.join}</svg>
        SVG
      end

      def bar(index, counts, tallest)
        return unless counts

        ok = counts[:ok] * 100.0 / tallest
        failed = FAILED.sum { |o| counts[o.to_sym] } * 100.0 / tallest
        x = index * 3
        %(<rect x="#{x}" y="#{(100 - ok).round(2)}" width="2" height="#{ok.round(2)}" fill="#2e7d32"/>) +
          %(<rect x="#{x}" y="#{(100 - ok - failed).round(2)}" width="2" height="#{failed.round(2)}" fill="#c62828"/>)
      end

      def breakers
        rows = @view.breakers.map do |breaker|
          states = breaker["states"].map { |state, n| "#{state}: #{n}" }.join(", ")
          row([cell(text(breaker["name"])), cell(text(states), breaker["states"]["open"] ? "bad" : nil),
               cell(h(breaker["failures"]), "n"), cell(h(duration(breaker["next_probe_in"])), "n")])
        end
        section("Circuit breakers", "breakers",
                ["Breaker", "States (processes)", "Consecutive failures", "Next probe in"], rows,
                "No circuit breaker has been used yet.")
      end

      def workers
        rows = @view.processes.map do |process|
          row([cell(text(process["host"])), cell(h(process["pid"]), "n"),
               cell(h(bytes(process["rss"])), rss_class(process["rss"])), cell(h(process["fds"]), "n"),
               cell(h(process["children_total"] || process["children"].size), "n"),
               cell(h(process["jobs_total"] || process.fetch("jobs", []).size), "n"),
               cell(h(duration(@view.now - process["at"])), "n")])
        end
        section("Workers", "workers", ["Host", "Pid", "RSS", "Open fds", "Children", "Jobs", "Published"], rows,
                "No worker process is publishing (is GazetteRunner::Fleet started?).")
      end

      def rss_class(rss)
        return "n" if rss.nil?
        return "n bad" if rss > @view.config.worker_rss_bytes
        return "n warn" if rss > @view.config.rss_target_bytes

        "n good"
      end
    end
  end
end
# rubocop:enable Metrics/AbcSize, Metrics/ClassLength
