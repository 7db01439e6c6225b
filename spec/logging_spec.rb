# frozen_string_literal: true

require "json"
require "logger"
require "stringio"

RSpec.describe "logging" do
  # [severity, fields] of every line logged so far.
  def lines
    @log.string.lines.map do |line|
      severity, json = line.chomp.split(" ", 2)
      [severity, JSON.parse(json)]
    end
  end

  def line(kind) = lines.find { |_, fields| fields["gazette_runner"] == kind }

  before do
    @log = StringIO.new
    logger = Logger.new(@log)
    logger.formatter = ->(severity, _time, _progname, message) { "#{severity} #{message}\n" }
    GazetteRunner.logger = logger
  end

  after { GazetteRunner::Instrumentation.default_logger! }

  it "logs one line at the start with argv and the names of env variables, never their values" do
    GazetteRunner.run(%w[printenv API_TOKEN], env: { "API_TOKEN" => "s3cret-value", "HOME" => nil }, timeout: 5)
    severity, start = line("start")
    expect(severity).to eq("INFO")
    expect(start).to include("argv" => %w[printenv API_TOKEN], "env" => %w[API_TOKEN HOME], "bound" => 5.0,
                             "attempt" => 1, "max_attempts" => 1)
    expect(@log.string).not_to include("s3cret-value")
  end

  it "logs one line at the end: exit code, signal, duration, byte counts, max_rss and outcome" do
    result = GazetteRunner.run(sh("printf 12345; printf ab >&2"), timeout: 5)
    severity, finish = line("finish")
    expect(severity).to eq("INFO")
    expect(finish).to include("program" => "sh", "pid" => result.pid, "outcome" => "ok", "exit_code" => 0,
                              "signal" => nil, "stdout_bytes" => 5, "stderr_bytes" => 2,
                              "max_rss" => result.max_rss)
    expect(finish["duration"]).to be_a(Float).and(be >= 0)
    expect(lines.size).to eq(2) # no stderr tail on success
  end

  it "logs the stderr tail at warn level on failure" do
    GazetteRunner.run(sh("echo 'Traceback: KeyError' >&2; kill -TERM $$"), timeout: 5)
    expect(line("finish")).to match(["WARN", include("outcome" => "exit_error", "signal" => "SIGTERM",
                                                     "exit_code" => nil)])
    expect(line("stderr_tail")).to match(["WARN", include("program" => "sh", "stderr_tail" => "Traceback: KeyError\n")])
  end

  it "logs raised failures too, with the error's class" do
    begin
      GazetteRunner.run(%w[sleep 10], timeout: 0.1, kill_after: 0.1)
    rescue GazetteRunner::TimeoutError
      nil
    end
    expect(line("finish")).to match(["WARN", include("outcome" => "timeout", "error" => "GazetteRunner::TimeoutError")])
  end

  it "writes valid UTF-8 JSON whatever bytes argv and stderr hold" do
    GazetteRunner.run(["sh", "-c", "printf '\\377\\376' >&2; exit 1", "caf\xE9".b], timeout: 5)
    expect(line("start").last["argv"].last).to eq("caf\uFFFD")
    expect(line("stderr_tail").last["stderr_tail"]).to eq("\uFFFD\uFFFD")
  end

  it "is silent with logger = nil" do
    GazetteRunner.logger = nil
    GazetteRunner.run(%w[false], timeout: 5)
    expect(@log.string).to eq("")
  end

  it "defaults to Rails.logger when Rails is loaded, and is otherwise silent" do
    status, out, err = run_ruby_child(<<~RUBY)
      require "gazette_runner"
      require "logger"
      puts GazetteRunner.logger.inspect
      module Rails
        def self.logger = @logger ||= Logger.new($stdout).tap { |l| l.formatter = ->(s, _, _, m) { "rails \#{s} \#{m}\\n" } }
      end
      puts GazetteRunner.logger.equal?(Rails.logger)
      GazetteRunner.run(["true"], timeout: 5)
    RUBY
    expect(err).to eq("")
    expect(status).to be_success
    first, second, *logged = out.lines
    expect([first, second]).to eq(%W[nil\n true\n])
    expect(logged.map { |l| l.split(" ", 3).first(2) }).to eq([%w[rails INFO], %w[rails INFO]])
  end
end
