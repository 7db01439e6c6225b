# frozen_string_literal: true

# What spec/sidekiq_spec.rb's real Sidekiq worker loads (`sidekiq -r`): the
# gem's Sidekiq integration installed as the README says, two jobs, and each
# alert the worker delivers appended to ALERTS_LOG as a JSON line.
$LOAD_PATH.unshift(File.expand_path("../../lib", __dir__))
require "json"
require "sidekiq"
require "gazette_runner/sidekiq"

GazetteRunner.logger = Sidekiq.logger # a failed publication is logged there
GazetteRunner.on_alert do |alert|
  File.open(ENV.fetch("ALERTS_LOG"), "a") { |log| log.puts(JSON.generate(alert.to_h)) }
end

Sidekiq.configure_server do |config|
  config.redis = { url: ENV.fetch("REDIS_URL") }
  GazetteRunner::Sidekiq.install(config, interval: 0.3, ttl: 1.2, host: "sidekiq-spec", long_job_seconds: 1,
                                         min_runs: 1, dead_jobs: 2)
end

# Runs a program that sleeps, then exits with the given status (a failure
# raises GazetteRunner::ExitError; without retries the job goes to the dead set).
class SlicePagesJob
  include Sidekiq::Job
  sidekiq_options queue: "gazette_spec", retry: 0

  def perform(seconds, status)
    GazetteRunner.run!(["sh", "-c", "sleep #{Float(seconds)}; exit #{Integer(status)}", "pages.pdf",
                        "--token", "s3cret"], timeout: 30)
  end
end
