# frozen_string_literal: true

require "json"
require "open3"
require "rbconfig"
require_relative "support/redis_server"

# Sidekiq 8 needs Ruby >= 3.2 and cannot run here; its web code mostly loads
# on Ruby 3.1, so spec/support/sidekiq8_probe.rb runs what does (see there
# what is left out and why) in a process of its own, against a real
# redis-server: the tab registered through Sidekiq 8's `register_extension`,
# and its page, rendered by Sidekiq 8's Action, bearing the nonce that
# Sidekiq 8's Content-Security-Policy requires of styles. Needs the vendored
# sources: `rake spec:sidekiq7` sets GAZETTE_VENDOR.
RSpec.describe "the Sidekiq tab under Sidekiq 8.1.7's web code", :sidekiq, if: RedisServer.available? do
  before { skip "GAZETTE_VENDOR is not set (rake spec:sidekiq7 sets it)" unless ENV["GAZETTE_VENDOR"] }

  around do |example|
    @server = RedisServer.new
    example.run
  ensure
    @server&.stop
  end

  it "registers with register_extension and renders under its CSP" do
    probe = File.expand_path("support/sidekiq8_probe.rb", __dir__)
    env = { "REDIS_URL" => @server.url, "RUBYLIB" => nil, "GAZETTE_SPEC_SIDEKIQ" => nil }
    out, err, status = Open3.capture3(env, RbConfig.ruby, probe, stdin_data: "")
    expect(status).to be_success, err
    seen = JSON.parse(out)
    expect(seen).to include("version" => "8.1.7", "api" => "register_extension")
    expect(seen["tabs"]).to include("Gazette" => "gazette", "Dashboard" => "")
    style_src = seen["csp"][/style-src ([^;]*)/, 1].split
    expect(style_src).to eq(["'self'", "'nonce-#{seen["nonce"]}'"]) # no 'unsafe-inline': a nonce or nothing
    expect(seen["page"]).to start_with(%(<style nonce="#{seen["nonce"]}">.gazette{))
    expect(seen["page"]).to include("gazette_runner job health", %(href="/sidekiq/gazette/stats.json"))
    status, headers, body = seen["json"]
    expect([status, headers["content-type"]]).to eq([200, "application/json"])
    expect(JSON.parse(body.join)["processes"].size).to eq(1)
  end
end
