# frozen_string_literal: true

module GazetteRunner
  # Rails integration, loaded by `require "gazette_runner"` only when Rails is.
  # Every module-level setting can be given as `config.gazette_runner.*` (in
  # config/application.rb, an environment file, or the initializer that
  # `rails generate gazette_runner:install` writes); they are applied once the
  # app's initializers have run. By default, it also
  #
  # - logs argv through `config.filter_parameters` (see {ArgvFilter}),
  # - tags every run inside a job with the job's ids ({JobContext}),
  # - under Sidekiq, installs the fleet publisher and job tracking
  #   ({GazetteRunner::Sidekiq.install}) and the dashboard's Sidekiq::Web tab.
  #
  # Each of these can be turned off. An unknown setting fails the boot.
  class Railtie < ::Rails::Railtie
    # Settings with a default of the Railtie's own; the others are left at
    # the gem's defaults unless set.
    DEFAULTS = { filter_parameters: true, sidekiq: true, sidekiq_tab: true, job_context: true }.freeze
    # Every `config.gazette_runner` setting.
    SETTINGS = (%i[default_timeout default_kill_after logger fleet] + DEFAULTS.keys).freeze

    config.gazette_runner = ActiveSupport::OrderedOptions.new.update(DEFAULTS)
    # `config.gazette_runner.fleet.long_job_seconds = 1800`, or a whole Hash.
    config.gazette_runner.fleet = ActiveSupport::OrderedOptions.new

    # After config/initializers/*, so that the generated initializer's settings
    # count; before the routes are drawn, so that Sidekiq::Web has the tab when
    # config/routes.rb mounts it.
    initializer "gazette_runner.configure", after: :load_config_initializers do |app|
      Railtie.configure(app.config.gazette_runner, app.config.filter_parameters)
    end

    class << self
      # Applies the settings.
      # @api private
      # @param settings [ActiveSupport::OrderedOptions] `config.gazette_runner`
      # @param filter_parameters [Array] `config.filter_parameters`
      # @return [void]
      # @raise [ArgumentError] an unknown setting or a bad value
      def configure(settings, filter_parameters)
        check(settings)
        module_settings(settings)
        filters(settings[:filter_parameters], filter_parameters)
        job_context if settings[:job_context]
        publishing = defined?(::Sidekiq) && settings[:sidekiq] ? true : false
        fleet(settings[:fleet].to_h.transform_keys(&:to_sym), publishing:)
        sidekiq(settings, publishing:) if defined?(::Sidekiq)
      end

      private

      def check(settings)
        unknown = settings.keys.map(&:to_sym) - SETTINGS
        return if unknown.empty?

        raise ArgumentError, "unknown config.gazette_runner settings: #{unknown.join(", ")} " \
                             "(known: #{SETTINGS.join(", ")})"
      end

      def module_settings(settings)
        GazetteRunner.default_timeout = settings[:default_timeout] unless settings[:default_timeout].nil?
        GazetteRunner.default_kill_after = settings[:default_kill_after] unless settings[:default_kill_after].nil?
        # Set even when nil: `config.gazette_runner.logger = nil` silences the gem.
        GazetteRunner.logger = settings[:logger] if settings.key?(:logger)
      end

      # true: the app's filter_parameters; false: none; an Array: that list.
      # Rails filter Procs are called with (key, value) pairs; argv has none.
      def filters(setting, app_filters)
        GazetteRunner.filter_parameters =
          case setting
          when true then app_filters.grep_v(Proc)
          when false, nil then []
          else setting
          end
      end

      # What the fleet publishes of argv goes through the same filters as the
      # log, then the fleet's own redaction, unless `fleet.redact` is set.
      def fleet(settings, publishing:)
        return if settings.empty? && !publishing

        require_relative "fleet"
        unless settings.key?(:redact) || GazetteRunner.filter_parameters.empty?
          settings[:redact] = ->(argv) { Fleet::Config::DEFAULT_REDACT.call(ArgvFilter.redact(argv)) }
        end
        Fleet.configure(**settings) unless settings.empty?
      end

      def job_context
        ActiveSupport.on_load(:active_job) { include JobContext::ActiveJobHook }
      end

      # Only a Sidekiq server process (Sidekiq::CLI) runs configure_server's block.
      def sidekiq(settings, publishing:)
        if publishing
          require_relative "sidekiq"
          ::Sidekiq.configure_server do |config|
            GazetteRunner::Sidekiq.install(config)
            config.server_middleware { |chain| chain.add(JobContext::SidekiqMiddleware) } if settings[:job_context]
          end
        end
        sidekiq_tab(settings[:sidekiq_tab]) if settings[:sidekiq_tab]
      end

      # true, or the tab's title. Sidekiq::Web is loaded here, as the routes
      # that mount it are drawn after this runs.
      def sidekiq_tab(setting)
        require "sidekiq/web"
        require_relative "web"
        GazetteRunner::Web.register_sidekiq_tab(**(setting.is_a?(String) ? { name: setting } : {}))
      end
    end
  end
end
