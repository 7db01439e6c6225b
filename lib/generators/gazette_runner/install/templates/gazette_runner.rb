# frozen_string_literal: true

# gazette_runner's settings (written by `rails generate gazette_runner:install`).
# Every line below shows a default; uncomment one to change it. An unknown
# setting stops the app from booting. See docs/rails.md in the gem.
Rails.application.configure do
  # Seconds a run may take when it gives no `timeout:`. Runs are never unbounded.
  # config.gazette_runner.default_timeout = 60

  # Seconds between SIGTERM and SIGKILL when a run gives no `kill_after:`.
  # config.gazette_runner.default_kill_after = 5

  # Where runs are logged (one JSON line at the start and the end of each run,
  # with the job's job_id / jid inside a job). Default: Rails.logger; nil silences.
  # config.gazette_runner.logger = Rails.logger

  # Argv in log lines goes through config.filter_parameters: `--api-key VALUE`,
  # `--api-key=VALUE` and `api_key=VALUE` are logged as [FILTERED]. false logs
  # argv as given; an Array replaces the app's list.
  # config.gazette_runner.filter_parameters = true

  # Log lines and events of a run inside a job carry its job_class, job_id
  # (ActiveJob), jid (Sidekiq) and queue.
  # config.gazette_runner.job_context = true

  # Under Sidekiq: every worker publishes its runs to Redis and the fleet's
  # alerts are evaluated (GazetteRunner::Sidekiq.install).
  # config.gazette_runner.sidekiq = true

  # Under Sidekiq: the job-health dashboard as a tab of Sidekiq::Web (true, or
  # the tab's title). Mount Sidekiq::Web behind your authentication as usual.
  # config.gazette_runner.sidekiq_tab = true

  # Fleet settings (GazetteRunner::Fleet::Config), for example:
  # config.gazette_runner.fleet.long_job_seconds = 20 * 60
  # config.gazette_runner.fleet.success_rate = 0.9
  # config.gazette_runner.fleet.prefix = "gazette_runner:"
end

# Alerts (long jobs, worker memory, success rate, dead jobs), delivered once
# for the whole fleet:
# GazetteRunner.on_alert do |alert|
#   Rails.logger.warn("gazette_runner alert #{alert.name}: #{alert.to_h}") if alert.firing?
# end
