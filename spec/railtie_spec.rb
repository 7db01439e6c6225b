# frozen_string_literal: true

require "json"

# Each example boots a Rails app (no files, Debian's railties) in a child
# process: loading Rails here would change what the other specs see.
RSpec.describe "GazetteRunner::Railtie" do
  def boot(settings, after_boot, requires: [])
    code = <<~RUBY
      require "json"
      require "rails"
      require "active_job/railtie"
      #{requires.map { |library| "require #{library.dump}" }.join("\n")}
      require "gazette_runner"
      class App < Rails::Application
        config.eager_load = false
        config.logger = Logger.new(nil)
        config.filter_parameters += [:api_key, /\\Apin\\z/, ->(key, value) { value }]
        #{settings}
      end
      App.initialize!
      #{after_boot}
    RUBY
    status, out, err = run_ruby_child(code, within: 60)
    [status, out, err]
  end

  def boot_ok(settings, after_boot, **options)
    status, out, err = boot(settings, after_boot, **options)
    expect(status).to be_success, err
    out
  end

  # The report is the last line: under sidekiq/cli, Rails.logger writes to stdout too.
  def report(*args, **options) = JSON.parse(boot_ok(*args, **options).lines.last)

  # The app's job: what a run inside it reports as the job.
  job_and_report = <<~RUBY
    class SliceJob < ActiveJob::Base
      def perform = GazetteRunner.run(%w[true])
    end
    GazetteRunner.subscribe { |event| $job_keys = event.job.keys }
    SliceJob.perform_now
    tabs = defined?(Sidekiq::Web) ? Sidekiq::Web.tabs.select { |name, _| name.start_with?("Gaz") } : nil
    # Under sidekiq/cli, Sidekiq.configure_server's blocks run at once.
    middleware = Sidekiq.server_middleware.entries.map { |entry| entry.klass.name }.grep(/GazetteRunner/)
    require "gazette_runner/fleet"
    puts JSON.generate(
      superclass: GazetteRunner::Railtie.superclass.name, timeout: GazetteRunner.default_timeout,
      kill_after: GazetteRunner.default_kill_after, logger: GazetteRunner.logger&.equal?(Rails.logger),
      filters: GazetteRunner.filter_parameters.map(&:inspect), job: $job_keys, tabs:, middleware:,
      long_job: GazetteRunner::Fleet.config.long_job_seconds, prefix: GazetteRunner::Fleet.config.prefix,
      published: GazetteRunner::Fleet.config.shown_argv(%w[slicer --pin 1234])
    )
  RUBY

  it "is not loaded without Rails" do
    status, out, = run_ruby_child('require "gazette_runner"; p defined?(GazetteRunner::Railtie)')
    expect([status.success?, out]).to eq([true, "nil\n"])
  end

  it "by default: Rails.logger, the app's filter_parameters (less Procs), job ids, Sidekiq's middleware and tab" do
    seen = report("", job_and_report, requires: %w[sidekiq sidekiq/cli])
    expect(seen).to eq("superclass" => "Rails::Railtie", "timeout" => 60, "kill_after" => 5.0, "logger" => true,
                       "filters" => ['"api_key"', "/\\Apin\\z/"], "job" => %w[job_class job_id queue],
                       "tabs" => { "Gazette" => "gazette" }, "long_job" => 1200, "prefix" => "gazette_runner:",
                       "middleware" => %w[GazetteRunner::Sidekiq::JobTracking
                                          GazetteRunner::JobContext::SidekiqMiddleware],
                       # What the fleet publishes goes through the app's filters too.
                       "published" => ["slicer", "--pin", "[FILTERED]"])
  end

  it "applies every config.gazette_runner setting" do
    seen = report(<<~SETTINGS, job_and_report, requires: ["sidekiq"])
      config.gazette_runner.default_timeout = 900
      config.gazette_runner.default_kill_after = 2
      config.gazette_runner.logger = nil
      config.gazette_runner.filter_parameters = [:token]
      config.gazette_runner.job_context = false
      config.gazette_runner.sidekiq_tab = "Gazettes"
      config.gazette_runner.fleet.long_job_seconds = 1800
      config.gazette_runner.fleet = config.gazette_runner.fleet.merge(prefix: "app:")
    SETTINGS
    expect(seen).to eq("superclass" => "Rails::Railtie", "timeout" => 900, "kill_after" => 2.0, "logger" => nil,
                       "filters" => ['"token"'], "job" => [], "tabs" => { "Gazettes" => "gazette" },
                       "long_job" => 1800, "prefix" => "app:", "middleware" => [],
                       "published" => %w[slicer --pin 1234])
  end

  it "turns the filters, the Sidekiq install and the tab off" do
    settings = %w[filter_parameters sidekiq sidekiq_tab].map { |name| "config.gazette_runner.#{name} = false" }
    seen = report(settings.join("\n"), job_and_report, requires: %w[sidekiq sidekiq/cli])
    expect(seen).to include("filters" => [], "tabs" => nil, "middleware" => [], "published" => %w[slicer --pin 1234])
  end

  it "fails the boot on an unknown setting or a bad value" do
    status, _, err = boot("config.gazette_runner.default_timout = 5", "")
    expect(status).not_to be_success
    expect(err).to include("unknown config.gazette_runner settings: default_timout (known: default_timeout,")
    status, _, err = boot("config.gazette_runner.default_timeout = 0", "")
    expect(status).not_to be_success
    expect(err).to include("timeout must be a number of seconds from 0.001 to 31622400, got 0")
  end
end
