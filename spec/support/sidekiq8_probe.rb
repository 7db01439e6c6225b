# frozen_string_literal: true

# Run by spec/sidekiq8_spec.rb in a process of its own: Sidekiq 8.1.7's own
# code (from GAZETTE_VENDOR), as much of it as Ruby 3.1 loads, registers the
# tab and runs its routes; prints what it saw as JSON. Sidekiq 8 needs Ruby
# 3.2, so two things are done here that a Sidekiq 8 host never does: the
# Ruby-version check at the top of lib/sidekiq.rb is left out, and
# sidekiq/api (which needs Ruby 3.2's Data) is not loaded, so Sidekiq's
# layout (which reads Sidekiq::Stats) is not rendered: the page is rendered
# as Sidekiq renders a partial, without it. Nothing of Sidekiq is replaced.
require "json"
require "rack"
require "set" # Ruby 3.2 loads it on first use; Sidekiq 8 relies on that
require "uri"

vendor = ENV.fetch("GAZETTE_VENDOR")
lib = File.join(vendor, "sidekiq-8.1.7", "lib")
$LOAD_PATH.unshift(lib, File.join(vendor, "redis-client-0.30.0", "lib"),
                   File.join(vendor, "connection_pool-2.5.5", "lib"), File.expand_path("../../lib", __dir__))
main = File.join(lib, "sidekiq.rb")
source = File.read(main)
guard = source[/^fail "Sidekiq .* below 3\.2\.0\.".*$/] or abort "sidekiq8_probe: the Ruby-version check moved"
eval(source.sub(guard, ""), TOPLEVEL_BINDING, main, 1) # rubocop:disable Security/Eval
$LOADED_FEATURES << main << File.join(lib, "sidekiq", "api.rb")
require "sidekiq/web"
require "redis_client"
require "gazette_runner/web"

Sidekiq.logger.level = Logger::WARN
redis = -> { RedisClient.config(url: ENV.fetch("REDIS_URL"), timeout: 2).new_client }
api = GazetteRunner::Web.register_sidekiq_tab(redis:)
GazetteRunner::Fleet::Publisher.new(redis:).publish_once || abort("sidekiq8_probe: publishing failed")

# What Sidekiq::Web::Application#call does for a GET, less the layout.
def get(path, nonce)
  route = Sidekiq::Web::Application.route_cache[:get].find { |r| r.match(:get, path) } or return nil
  env = Rack::MockRequest.env_for(path, "SCRIPT_NAME" => "/sidekiq")
  env.merge!(web_config: Sidekiq::Web.configure, csp_nonce: nonce, "response_headers" => {})
  action = Sidekiq::Web::Action.new(env, route.block)
  action.instance_variable_set(:@_erb, true) # render as a partial: no layout
  action.instance_exec(env, &route.block)
end

nonce = SecureRandom.hex(8)
env = { csp_nonce: nonce }
puts JSON.generate(
  "version" => Sidekiq::VERSION, "api" => api, "tabs" => Sidekiq::Web.tabs,
  "csp" => Sidekiq::Web::Application.new(nil).process_csp(env, Sidekiq::Web::Application::CSP_HEADER_TEMPLATE),
  "nonce" => nonce, "page" => get("/gazette", nonce), "json" => get("/gazette/stats.json", nonce)
)
