# frozen_string_literal: true

module GazetteRunner
  class Web
    # The dashboard as a tab of Sidekiq's web UI: a web extension adding
    # `GET /gazette` (the page, inside Sidekiq's layout) and
    # `GET /gazette/stats.json`. Use {Web.register_sidekiq_tab}, which
    # registers it with the API of the Sidekiq loaded ({.register}).
    module SidekiqTab
      # Where the tab lives below Sidekiq::Web's mount point.
      PATH = "/gazette"
      # The extension's name (Sidekiq 7+ namespaces an extension's assets by it).
      NAME = "gazette_runner"

      class << self
        # @return [Web, nil] the app whose view the tab shows
        attr_accessor :app

        # Registers the extension and its tab with the API `web` offers,
        # found by what it answers rather than by its version number:
        # Sidekiq 8 (`configure` yields a config with `register_extension`,
        # whose `name:`, `tab:` and `index:` are required), Sidekiq 7
        # (`register` takes them as keywords), Sidekiq 6 (`register(ext)`,
        # then the tab is added to `tabs`).
        # @param web [Class] Sidekiq::Web
        # @param tab [String] the tab's title
        # @return [Symbol] the API used: :register_extension, :register_keywords or :register
        def register(web, tab:)
          options = { name: NAME, tab:, index: PATH.delete_prefix("/") }
          return :register_extension if web.respond_to?(:configure) && registered_extension?(web, options)

          if web.method(:register).parameters.include?(%i[key tab])
            web.register(self, **options)
            return :register_keywords
          end
          web.register(self)
          web.tabs[tab] = options[:index]
          :register
        end

        # Called by Sidekiq when registering: adds the routes. Sidekiq 8 sends
        # a Content-Security-Policy whose style-src allows only styles bearing
        # the request's nonce, so the page's `<style>` bears it wherever
        # Sidekiq provides one (`csp_nonce`, 7.x and 8.x).
        # @param web_application [Class] Sidekiq::WebApplication (6.x, 7.x) or Sidekiq::Web::Application (8.x)
        # @return [void]
        def registered(web_application) # rubocop:disable Metrics/AbcSize -- the routes run in Sidekiq's action, where its helpers are
          web_application.get(PATH) do
            nonce = respond_to?(:csp_nonce) ? csp_nonce : nil
            html = Page.new(SidekiqTab.current_app.view, base: "#{root_path}#{PATH.delete_prefix("/")}", nonce:)
                       .fragment
            page = erb("<%= gazette_page %>", locals: { gazette_page: html })
            # Sidekiq 7 and 8 send their own CSP (with the nonce) and nosniff for
            # a String; 6.x sends no nosniff, so it gets the whole response.
            next page unless SidekiqTab.legacy_headers?

            [200, SidekiqTab.headers("text/html", "content-language" => locale), [page]]
          end
          web_application.get("#{PATH}#{JSON_PATH}") do
            [200, SidekiqTab.headers("application/json"), [JSON.generate(SidekiqTab.current_app.view.to_h)]]
          end
        end

        # Sidekiq's own headers for a page (its Content-Security-Policy
        # included), plus `X-Content-Type-Options: nosniff`. Lower-case names:
        # Rack 3 (Sidekiq 8) requires them, Rack 2 matches any case.
        # @param type [String] the Content-Type
        # @param more [Hash{String=>String}]
        # @return [Hash{String=>String}]
        def headers(type, more = {})
          headers = { "content-type" => type, "cache-control" => "private, no-store",
                      "x-content-type-options" => "nosniff" }
          csp = defined?(::Sidekiq::WebApplication::CSP_HEADER) && ::Sidekiq::WebApplication::CSP_HEADER
          headers["content-security-policy"] = csp if csp
          headers.merge(more)
        end

        # @return [Boolean] true on Sidekiq 6.x, which sends a fixed CSP and no
        #   nosniff of its own, so the tab sends whole responses
        def legacy_headers? = defined?(::Sidekiq::WebApplication::CSP_HEADER) ? true : false

        # @return [Web] {.app}, or one on Sidekiq's own Redis pool
        def current_app = (self.app ||= Web.new)

        private

        # Sidekiq 7's `configure` yields Sidekiq::Web itself, which has no
        # `register_extension`; Sidekiq 6's Web has no `configure`.
        def registered_extension?(web, options)
          registered = false
          web.configure do |config|
            next unless config.respond_to?(:register_extension)

            config.register_extension(self, **options)
            registered = true
          end
          registered
        end
      end
    end
  end
end
