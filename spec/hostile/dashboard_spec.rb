# frozen_string_literal: true

require "json"
require "rack/mock"
require "rbconfig"
require "gazette_runner/web"
require_relative "../support/redis_server"

# The example config.ru is what people copy: it must not serve job arguments
# and Sidekiq's retry/delete buttons to whoever reaches the port, nor accept a
# session cookie signed with a secret written in the repository.
RSpec.describe "mounting the dashboard", :scratch_dir do
  let(:config_ru) { File.expand_path("../../examples/dashboard/config.ru", __dir__) }
  let(:credentials) { { "GAZETTE_DASHBOARD_USER" => "ops", "GAZETTE_DASHBOARD_PASSWORD" => "correct horse battery" } }

  # Boots config.ru in a child Ruby (its settings come from ENV), runs `code`
  # against `app`, and returns [status, stdout, stderr].
  def boot(env, code = "")
    script = <<~RUBY
      require "json"
      require "openssl"
      require "rack"
      require "rack/mock"
      #{code.empty? ? "" : "PROBE = #{File.join(@dir, "marshal-loaded").inspect}"}
      # Deserializing it leaves a trace: proof that a cookie reached Marshal.load.
      class Probe
        def marshal_dump = 1
        def marshal_load(_) = File.write(PROBE, "loaded")
      end
      app, = Rack::Builder.parse_file(#{config_ru.inspect})
      #{code}
    RUBY
    out_r, out_w = IO.pipe
    err_r, err_w = IO.pipe
    pid = Process.spawn({ "RUBYLIB" => File.expand_path("../../lib", __dir__), **env }, RbConfig.ruby, "-e", script,
                        out: out_w, err: err_w, in: File::NULL, unsetenv_others: false)
    [out_w, err_w].each(&:close)
    reader = Thread.new { [out_r.read, err_r.read] }
    status = bounded_wait(pid, 30)
    [status, *reader.value]
  ensure
    [out_r, err_r].each { |io| io&.close }
  end

  def without_settings
    { "GAZETTE_DASHBOARD_USER" => nil, "GAZETTE_DASHBOARD_PASSWORD" => nil,
      "SESSION_SECRET" => nil }
  end

  it "refuses to start without credentials, or with a short password" do
    [{}, { "GAZETTE_DASHBOARD_USER" => "ops" }, credentials.merge("GAZETTE_DASHBOARD_PASSWORD" => "short")]
      .each do |given|
        status, _, err = boot(without_settings.merge(given))
        expect(status).not_to be_success
        expect(err).to include("set GAZETTE_DASHBOARD_USER and GAZETTE_DASHBOARD_PASSWORD")
      end
  end

  it "refuses a short SESSION_SECRET and makes a random one per boot, saying so, when there is none" do
    status, _, err = boot(without_settings.merge(credentials, "SESSION_SECRET" => "x" * 10))
    expect([status.success?, err]).to match([false, /SESSION_SECRET must be at least 64 characters/])
    status, _, err = boot(without_settings.merge(credentials))
    expect([status.success?, err]).to match([true, /SESSION_SECRET is not set; using a random secret/])
  end

  context "when started", if: RedisServer.available? do
    before(:all) { @server = RedisServer.new }
    after(:all) { @server&.stop }

    it "answers 401 without the right credentials and 200 with them, with nosniff, page and JSON alike" do
      code = <<~RUBY
        auth = ->(user, password) { { "HTTP_AUTHORIZATION" => "Basic " + ["\#{user}:\#{password}"].pack("m0") } }
        ok = auth.call("ops", "correct horse battery")
        answers = {
          "none" => Rack::MockRequest.new(app).get("/gazette/").status,
          "wrong password" => Rack::MockRequest.new(app).get("/gazette/", auth.call("ops", "wrong")).status,
          "wrong user" => Rack::MockRequest.new(app).get("/gazette/", auth.call("root", "correct horse battery")).status,
          "sidekiq, none" => Rack::MockRequest.new(app).get("/sidekiq/").status,
          "sidekiq" => Rack::MockRequest.new(app).get("/sidekiq/", ok).status,
        }
        %w[/gazette/ /gazette/stats.json /sidekiq/gazette /sidekiq/gazette/stats.json].each do |path|
          response = Rack::MockRequest.new(app).get(path, ok)
          answers[path] = [response.status, response.headers["x-content-type-options"]]
        end
        puts JSON.generate(answers)
      RUBY
      status, out, err = boot(without_settings.merge(credentials, "REDIS_URL" => @server.url), code)
      expect(status).to be_success, err
      expect(JSON.parse(out)).to eq("none" => 401, "wrong password" => 401, "wrong user" => 401,
                                    "sidekiq, none" => 401, "sidekiq" => 200,
                                    "/gazette/" => [200, "nosniff"], "/gazette/stats.json" => [200, "nosniff"],
                                    "/sidekiq/gazette" => [200, "nosniff"],
                                    "/sidekiq/gazette/stats.json" => [200, "nosniff"])
    end

    it "never Marshal-loads a cookie signed with the old fallback secret (\"x\" * 64)" do
      code = <<~RUBY
        old = "x" * 64
        data = [Marshal.dump({ "p" => Probe.new })].pack("m")
        cookie = "rack.session=" + Rack::Utils.escape(data + "--" + OpenSSL::HMAC.hexdigest("SHA1", old, data))
        ok = { "HTTP_AUTHORIZATION" => "Basic " + ["ops:correct horse battery"].pack("m0"), "HTTP_COOKIE" => cookie }
        Rack::MockRequest.new(app).get("/sidekiq/", ok)
        Rack::MockRequest.new(app).get("/gazette/", ok)
        puts File.exist?(PROBE) ? "loaded by config.ru" : "not loaded"
        # The control: the same cookie against the old settings is deserialized.
        before = Rack::Session::Cookie.new(->(env) { env["rack.session"]["p"]; [200, {}, []] }, secret: old)
        Rack::MockRequest.new(before).get("/", "HTTP_COOKIE" => cookie)
        puts File.exist?(PROBE) ? "loaded by the old settings" : "not loaded by the old settings"
      RUBY
      status, out, err = boot(without_settings.merge(credentials, "REDIS_URL" => @server.url), code)
      expect(status).to be_success, err
      expect(out.lines.map(&:chomp)).to eq(["not loaded", "loaded by the old settings"])
    end
  end

  it "sends nosniff and a generic 503 from GazetteRunner::Web itself" do
    web = GazetteRunner::Web.new(redis: -> { raise Errno::ECONNREFUSED, "127.0.0.1:6399" })
    %w[/ /stats.json].each do |path|
      response = Rack::MockRequest.new(web).get(path)
      expect([response.status, response.headers["x-content-type-options"], response.body])
        .to eq([503, "nosniff", GazetteRunner::Web::UNAVAILABLE])
    end
  end
end
