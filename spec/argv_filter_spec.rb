# frozen_string_literal: true

require "json"
require "logger"
require "stringio"

RSpec.describe "GazetteRunner.filter_parameters (argv in log lines)" do
  around do |example|
    log = StringIO.new
    GazetteRunner.logger = Logger.new(log, formatter: ->(*, message) { "#{message}\n" })
    @log = log
    example.run
  ensure
    GazetteRunner.filter_parameters = []
    GazetteRunner::Instrumentation.default_logger!
  end

  def logged_argv = JSON.parse(@log.string.lines.first).fetch("argv")

  it "logs the value of a matching flag, glued or not, and of KEY=VALUE, as [FILTERED]" do
    GazetteRunner.filter_parameters = [:api_key, "passw", /\Atok(en)?\z/]
    argv = ["echo", "--api-key", "sk_live_1", "--password=hunter2", "api_key=sk_live_2", "--tok", "t1",
            "--token-file", "/etc/t", "gazette.pdf", "--out", "/tmp/out"]
    result = GazetteRunner.run(argv, timeout: 5)

    expect(logged_argv).to eq(["echo", "--api-key", "[FILTERED]", "--password=[FILTERED]", "api_key=[FILTERED]",
                               "--tok", "[FILTERED]", "--token-file", "/etc/t", "gazette.pdf", "--out", "/tmp/out"])
    expect(@log.string).not_to include("sk_live", "hunter2", "t1")
    expect(result.argv).to eq(argv) # the program got its arguments unchanged
  end

  it "matches like Rails: anywhere in the name and ignoring case, and dashes as underscores" do
    GazetteRunner.filter_parameters = ["secret", :_key]
    GazetteRunner.run(["echo", "--Client-SECRET", "a", "--signing-key=b", "--keychain", "c"], timeout: 5)
    expect(logged_argv).to eq(["echo", "--Client-SECRET", "[FILTERED]", "--signing-key=[FILTERED]", "--keychain", "c"])
  end

  it "never filters the program itself, and a bare word is no flag" do
    GazetteRunner.filter_parameters = [:token]
    GazetteRunner.run(%w[echo token gazette.pdf], timeout: 5)
    expect(logged_argv).to eq(%w[echo token gazette.pdf])
  end

  it "with no filters, still hides what the gem's own redaction knows as secret" do
    expect(GazetteRunner.filter_parameters).to eq([])
    GazetteRunner.run(%w[echo --api-key sk --pages 1-5], timeout: 5)
    expect(logged_argv).to eq(%w[echo --api-key [redacted] --pages 1-5])
  end

  it "refuses a filter it cannot apply to argv, keeping the filters it had" do
    GazetteRunner.filter_parameters = [:token]
    expect { GazetteRunner.filter_parameters = [:password, ->(_key, value) { value.clear }] }
      .to raise_error(ArgumentError, /filter_parameters entries must be Strings, Symbols or Regexps, got #<Proc/)
    expect(GazetteRunner.filter_parameters).to eq(["token"])
  end
end
