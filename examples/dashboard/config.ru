# frozen_string_literal: true

# The dashboard as a tab of Sidekiq's web UI, plus the same app standing alone.
#
#   REDIS_URL=redis://127.0.0.1:6379/0 rackup examples/dashboard/config.ru -p 9292
#   open http://127.0.0.1:9292/sidekiq/gazette   (or /gazette standalone, /gazette/stats.json)
#
# Worker processes publish with GazetteRunner::Sidekiq.install (see docs/dashboard.md).
$LOAD_PATH.unshift(File.expand_path("../../lib", __dir__))
require "redis"
require "sidekiq"
require "sidekiq/web"
require "gazette_runner/web"

redis_url = ENV.fetch("REDIS_URL", "redis://127.0.0.1:6379/0")
Sidekiq.configure_client { |config| config.redis = { url: redis_url } }
GazetteRunner::Web.register_sidekiq_tab # reads through Sidekiq's own pool

use Rack::Session::Cookie, secret: ENV.fetch("SESSION_SECRET") { "x" * 64 }, same_site: true, max_age: 86_400
map("/sidekiq") { run Sidekiq::Web }
map("/gazette") { run GazetteRunner::Web.new(redis: Redis.new(url: redis_url)) }
