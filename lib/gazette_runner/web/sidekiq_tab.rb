# frozen_string_literal: true

module GazetteRunner
  class Web
    # The dashboard as a tab of Sidekiq's web UI: a Sidekiq 6.4 web extension
    # (`Sidekiq::Web.register(SidekiqTab)`), adding `GET /gazette` (the page,
    # inside Sidekiq's layout) and `GET /gazette/stats.json`. Use
    # {Web.register_sidekiq_tab}, which also adds the tab.
    module SidekiqTab
      # Where the tab lives below Sidekiq::Web's mount point.
      PATH = "/gazette"

      class << self
        # @return [Web, nil] the app whose view the tab shows
        attr_accessor :app

        # Called by `Sidekiq::Web.register`: adds the routes.
        # @param web_application [Class] Sidekiq::WebApplication
        # @return [void]
        def registered(web_application)
          web_application.get(PATH) do
            html = Page.new(SidekiqTab.current_app.view, base: "#{root_path}#{PATH.delete_prefix("/")}").fragment
            [200, SidekiqTab.headers("text/html", "Content-Language" => locale),
             [erb("<%= gazette_page %>", locals: { gazette_page: html })]]
          end
          web_application.get("#{PATH}#{JSON_PATH}") do
            [200, SidekiqTab.headers("application/json"), [JSON.generate(SidekiqTab.current_app.view.to_h)]]
          end
        end

        # Sidekiq's own headers for a page (its Content-Security-Policy
        # included), plus `X-Content-Type-Options: nosniff`.
        # @param type [String] the Content-Type
        # @param more [Hash{String=>String}]
        # @return [Hash{String=>String}]
        def headers(type, more = {})
          headers = { "Content-Type" => type, "Cache-Control" => "private, no-store",
                      "X-Content-Type-Options" => "nosniff" }
          csp = defined?(::Sidekiq::WebApplication::CSP_HEADER) && ::Sidekiq::WebApplication::CSP_HEADER
          headers["Content-Security-Policy"] = csp if csp
          headers.merge(more)
        end

        # @return [Web] {.app}, or one on Sidekiq's own Redis pool
        def current_app = (self.app ||= Web.new)
      end
    end
  end
end
