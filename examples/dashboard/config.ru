# frozen_string_literal: true

# The dashboard as a tab of Sidekiq's web UI, plus the same app standing alone,
# behind HTTP Basic authentication.
#
#   GAZETTE_DASHBOARD_USER=ops GAZETTE_DASHBOARD_PASSWORD='a long passphrase' \
#   SESSION_SECRET=$(ruby -rsecurerandom -e 'puts SecureRandom.hex(64)') \
#   REDIS_URL=redis://127.0.0.1:6379/0 rackup examples/dashboard/config.ru -p 9292
#   open http://127.0.0.1:9292/sidekiq/gazette   (or /gazette standalone, /gazette/stats.json)
#
# It refuses to start without credentials: the page shows what runs on every
# worker, and Sidekiq::Web lets whoever reaches it retry, delete and kill jobs.
# Sidekiq::Web's own protection is against cross-site request forgery only;
# it authenticates nobody (see docs/dashboard.md). Serve it over HTTPS: Basic
# authentication sends the password with every request.
#
# Worker processes publish with GazetteRunner::Sidekiq.install (see docs/dashboard.md).
$LOAD_PATH.unshift(File.expand_path("../../lib", __dir__))
require "digest"
require "securerandom"
require "rack/auth/basic"
require "redis"
require "sidekiq"
require "sidekiq/web"
require "gazette_runner/web"

user = ENV.fetch("GAZETTE_DASHBOARD_USER", "")
password = ENV.fetch("GAZETTE_DASHBOARD_PASSWORD", "")
if user.empty? || password.length < 12
  raise "examples/dashboard/config.ru: set GAZETTE_DASHBOARD_USER and GAZETTE_DASHBOARD_PASSWORD (12 characters " \
        "or more); the dashboard does not start without authentication"
end

# No fallback secret: a secret that is written down somewhere lets anyone sign
# a session cookie. Without SESSION_SECRET, each boot makes its own, so
# sessions (Sidekiq::Web's CSRF token) do not survive a restart and are not
# shared between processes of a multi-process server: set it for those.
session_secret = ENV.fetch("SESSION_SECRET") do
  warn "examples/dashboard/config.ru: SESSION_SECRET is not set; using a random secret for this boot"
  SecureRandom.hex(64)
end
raise "examples/dashboard/config.ru: SESSION_SECRET must be at least 64 characters" if session_secret.length < 64

redis_url = ENV.fetch("REDIS_URL", "redis://127.0.0.1:6379/0")
Sidekiq.configure_client { |config| config.redis = { url: redis_url } }
GazetteRunner::Web.register_sidekiq_tab # reads through Sidekiq's own pool

# Digests of equal length, compared in constant time: neither the user name
# nor the password leaks through timing, not even its length.
same = ->(given, expected) { Rack::Utils.secure_compare(Digest::SHA256.digest(given), Digest::SHA256.digest(expected)) }
use Rack::Auth::Basic, "gazette_runner dashboard" do |given_user, given_password|
  [same.call(given_user, user), same.call(given_password, password)].all?
end
# JSON, not Marshal: a forged or replayed cookie is never deserialized into Ruby objects.
use Rack::Session::Cookie, secret: session_secret, same_site: true, max_age: 86_400, httponly: true,
                           coder: Rack::Session::Cookie::Base64::JSON.new
map("/sidekiq") { run Sidekiq::Web }
map("/gazette") { run GazetteRunner::Web.new(redis: Redis.new(url: redis_url)) }
