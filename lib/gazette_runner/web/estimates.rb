# frozen_string_literal: true

require "json"
require "gazette_runner/web"

# An HTML template written as Ruby, like Web::Page: the ABC metric measures
# the tables' width, not their logic.
# rubocop:disable Metrics/AbcSize

module GazetteRunner
  class Web
    # The learned bounds' dashboard: for each {Estimator} shared through
    # {Fleet::EstimatorSync}, what the fleet learned, its predictions for a
    # few sizes, the runs in flight with their ETA (flagged once past their
    # predicted p99), and the last runs, predicted median against actual. A
    # Rack app of its own, mounted next to the job-health page:
    #
    #   map("/gazette/estimates") { run GazetteRunner::Web::Estimates.new(redis: Redis.new, names: ["slicer"]) }
    #
    # `GET /` is the page, `GET /estimates.json` the same as JSON.
    class Estimates
      include Format

      # The JSON endpoint's path, below where the app is mounted.
      JSON_PATH = "/estimates.json"
      # Last runs shown per estimator.
      RECENT = 20

      # @param redis [Object] a Redis client, a ConnectionPool or a Proc returning a client
      # @param names [Array<String>] the estimators shown
      # @param config [Fleet::Config, nil] nil uses {Fleet.config} at each request
      def initialize(redis:, names:, config: nil)
        @redis = redis
        @names = names.map(&:to_s).freeze
        @config = config
      end

      # @param env [Hash] the Rack environment
      # @return [Array(Integer, Hash, Array<String>)] a Rack response
      def call(env)
        case env["PATH_INFO"].to_s
        when "", "/" then respond(200, "text/html; charset=utf-8", html(read))
        when JSON_PATH then respond(200, "application/json", JSON.generate(read))
        else respond(404, "text/plain", "Not Found")
        end
      rescue StandardError => e
        respond(503, "text/plain; charset=utf-8",
                "gazette_runner: cannot read the estimators: #{e.class}: #{e.message}")
      end

      # @return [Array<Hash{String=>Object}>] {Fleet::EstimatorSync.read} for each name
      def read = @names.map { |name| Fleet::EstimatorSync.read(@redis, name, config: @config || Fleet.config) }

      # @param estimates [Array<Hash>] as {#read} returns them
      # @return [String] a whole HTML document
      def html(estimates)
        <<~HTML
          <!DOCTYPE html>
          <html lang="en"><head><meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <meta http-equiv="refresh" content="5"><title>gazette_runner learned bounds</title></head>
          <body><div class="gazette"><style>#{Page::CSS}</style><h1>Learned bounds</h1>
          #{estimates.map { |estimate| section(estimate) }.join}</div></body></html>
        HTML
      end

      private

      def section(estimate)
        reports = estimate["processes"].sort_by { |report| -report["at"] }
        <<~HTML
          <h2>#{h(estimate["name"])}</h2><p>#{summary(estimate["state"])}</p>
          #{predictions(reports.first)}#{running(reports)}#{recent(reports)}
        HTML
      end

      def summary(state)
        return "Nothing learned in the fleet yet: runs get the fallback bound." unless state

        "#{state["runs"]} runs learned, #{state["hangs"]} probable hangs " \
          "(#{percent(state["hang_rate"])} of recent runs), #{state["tight"]} ended by too tight a bound."
      end

      def predictions(report)
        return "" unless report

        rows = report["predictions"].map do |prediction|
          cells = %w[p50 p90 p99 bound].map { |key| "<td class=n>#{duration(prediction[key])}</td>" }
          "<tr><td class=n>#{h(prediction["size"])}</td>#{cells.join}</tr>"
        end
        table("Predicted by size", %w[size p50 p90 p99 bound], rows)
      end

      def running(reports)
        runs = reports.flat_map { |report| report["running"].map { |run| run.merge("host" => report["host"]) } }
        rows = runs.sort_by { |run| run["started_at"] }.map do |run|
          late = run["slower_than_learned"]
          "<tr#{" class=bad" if late}><td>#{h(run["host"])}</td><td class=n>#{h(run["size"])}</td>" \
            "<td class=n>#{duration(run["elapsed"])}</td><td class=n>#{duration(run["p50"])}</td>" \
            "<td class=n>#{duration(run["p99"])}</td><td class=n>#{duration(run["bound"])}</td>" \
            "<td>#{late ? "slower than learned" : time(run["eta"])}</td></tr>"
        end
        table("Running now", %w[worker size elapsed p50 p99 bound ETA], rows)
      end

      def recent(reports)
        runs = reports.flat_map { |report| report["recent"].map { |run| run.merge("host" => report["host"]) } }
        rows = runs.sort_by { |run| -run["at"] }.first(RECENT).map do |run|
          "<tr><td>#{time(run["at"])}</td><td>#{h(run["host"])}</td><td class=n>#{h(run["size"])}</td>" \
            "<td class=n>#{duration(run["predicted_p50"])}</td><td class=n>#{duration(run["duration"])}</td>" \
            "<td>#{h(run["outcome"])}</td></tr>"
        end
        table("Last runs: predicted median against actual", %w[ended worker size predicted actual outcome], rows)
      end

      def table(title, headers, rows)
        body = rows.empty? ? "<tr><td colspan=#{headers.size} class=muted>none</td></tr>" : rows.join
        "<h3>#{h(title)}</h3><div class=scroll><table><tr>#{headers.map { |t| "<th>#{h(t)}</th>" }.join}</tr>" \
          "#{body}</table></div>"
      end

      def respond(status, type, body)
        [status, { "content-type" => type, "cache-control" => "no-store", "content-length" => body.bytesize.to_s },
         [body]]
      end
    end
  end
end
# rubocop:enable Metrics/AbcSize
