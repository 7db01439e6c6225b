# frozen_string_literal: true

require "logger"
require "stringio"
require "timeout"

RSpec.describe "events" do
  # Loaded when these examples run rather than when the file is read, so that
  # `rake spec:gc`, which runs none of them, does not carry ActiveSupport's
  # heap through every collection GC.stress forces.
  before(:context) do
    require "active_support"
    require "active_support/notifications"
  end

  # Raised into a calling thread, as Sidekiq raises Sidekiq::Shutdown into its job threads.
  class SpecShutdown < StandardError; end # rubocop:disable Lint/ConstantDefinitionInBlock

  def quietly
    yield
  rescue StandardError
    nil
  end

  # [ActiveSupport events, GazetteRunner events] emitted while the block runs (on any thread).
  def events_during
    notified = Queue.new
    ours = Queue.new
    as = ActiveSupport::Notifications.subscribe(GazetteRunner::Event::NAME) do |*args|
      notified << ActiveSupport::Notifications::Event.new(*args)
    end
    subscription = GazetteRunner.subscribe { |event| ours << event }
    yield
    [Array.new(notified.size) { notified.pop }, Array.new(ours.size) { ours.pop }]
  ensure
    ActiveSupport::Notifications.unsubscribe(as) if as
    subscription&.unsubscribe
  end

  def breaker_opened
    breaker = GazetteRunner::CircuitBreaker.new("spec-events-#{Process.pid}", threshold: 1)
    breaker.reset
    GazetteRunner.run(%w[false], breaker:)
    breaker
  end

  # Runs a call in a thread, then raises into it once its program is running.
  def interrupted(exception)
    thread = Thread.new { GazetteRunner.run(%w[sleep 30], timeout: 60) }
    thread.report_on_exception = false
    expect(eventually(within: 10) { GazetteRunner.running.any? { |child| child.thread == thread } }).to be(true)
    thread.raise(exception)
    expect { thread.join(10) }.to raise_error(exception.class)
  end

  # A run with no option skips every report while nothing takes one; a
  # listener of ActiveSupport alone (no logger, no subscriber) is enough to
  # get the event, and loading ActiveSupport alone is not.
  it "reports a run with no option to an ActiveSupport listener alone" do
    GazetteRunner.stats.reset
    expect(GazetteRunner::Instrumentation.quiet?).to be(true) # loaded, nothing listening
    GazetteRunner.run(%w[true])
    expect(GazetteRunner::Native.take_records.size).to eq(1) # the plain path counted it
    notified = []
    listener = ActiveSupport::Notifications.subscribe(GazetteRunner::Event::NAME) { |*args| notified << args.last }
    expect(GazetteRunner::Instrumentation.quiet?).to be(false)
    GazetteRunner.run(%w[false])
    expect(notified.map { |payload| payload[:outcome] }).to eq([:exit_error])
    expect(GazetteRunner::Native.take_records).to be_empty # the full path counted it, in Ruby
    expect(GazetteRunner.stats.counts.reject { |_, n| n.zero? }).to eq(exit_error: 1)
  ensure
    ActiveSupport::Notifications.unsubscribe(listener) if listener
  end

  {
    ok: -> { GazetteRunner.run(%w[true]) },
    exit_error: -> { GazetteRunner.run(%w[false]) },
    timeout: -> { GazetteRunner.run(%w[sleep 10], timeout: 0.1, kill_after: 0.1) },
    output_limit: -> { GazetteRunner.run(%w[head -c 100000 /dev/zero], max_output: 1000) },
    spawn_error: -> { GazetteRunner.run(["/nonexistent/gazette-program"]) },
    empty_output: -> { GazetteRunner.run_json(%w[true]) },
    invalid_json: -> { GazetteRunner.run_json(%w[echo {]) },
    schema_error: -> { GazetteRunner.run_json(%w[echo 1], schema: { "type" => "string" }) },
    circuit_open: -> { GazetteRunner.run(%w[true], breaker: breaker_opened) },
    interrupted: -> { interrupted(SpecShutdown.new("shutting down")) },
    callback_error: -> { GazetteRunner.run(%w[echo hi], on_stdout: ->(_) { raise ArgumentError, "callback bug" }) }
  }.each do |outcome, call|
    it "names the outcome #{outcome.inspect}, to ActiveSupport::Notifications and to subscribers alike" do
      notified, ours = events_during { quietly { instance_exec(&call) } }
      expect(notified.last.payload[:outcome]).to eq(outcome)
      expect(ours.last.outcome).to eq(outcome)
      expect(notified.last.payload).to include(ours.last.to_h)
    end
  end

  # :internal_error (a panic in the extension) is the one no program can cause;
  # its classification is checked on the error itself.
  it "covers every outcome in those examples" do
    expect(GazetteRunner::Event::OUTCOMES - [:internal_error]).to contain_exactly(
      :ok, :exit_error, :timeout, :output_limit, :spawn_error, :empty_output, :invalid_json,
      :schema_error, :circuit_open, :interrupted, :callback_error
    )
    expect(GazetteRunner::InternalError.new.outcome).to eq(:internal_error)
  end

  it "describes what happened to the program whether or not the method raised" do
    notified, ours = events_during { GazetteRunner.run(sh("exit 3"), timeout: 5) }
    event = ours.last
    expect(event).to have_attributes(outcome: :exit_error, exit_code: 3, error: nil, ok?: false)
    expect(event.result.exit_code).to eq(3)
    expect(notified.last.payload).not_to have_key(:exception) # run returned normally

    notified, ours = events_during { quietly { GazetteRunner.run!(sh("exit 3"), timeout: 5) } }
    expect(ours.last).to have_attributes(outcome: :exit_error, error: be_a(GazetteRunner::ExitError))
    expect(notified.last.payload[:exception]).to eq(["GazetteRunner::ExitError", ours.last.error.message])
  end

  it "carries the run's facts, and times the ActiveSupport event around the attempt" do
    notified, ours = events_during { GazetteRunner.run(sh("printf abc; printf de >&2; sleep 0.2"), timeout: 5) }
    event = ours.last
    expect(event).to have_attributes(argv: sh("printf abc; printf de >&2; sleep 0.2"), exit_code: 0, signal: nil,
                                     stdout_bytes: 3, stderr_bytes: 2, attempt: 1, max_attempts: 1,
                                     bound: 5.0, breaker: nil, name: "run.gazette_runner")
    expect(event.pid).to eq(event.result.pid)
    expect(event.max_rss).to be > 0
    expect(event.duration).to be >= 0.2
    expect(event).to be_frozen
    expect(notified.last.duration).to be >= 200 # milliseconds
  end

  it "names Timeout.timeout around a call :interrupted" do
    _, ours = events_during do
      expect { Timeout.timeout(0.3) { GazetteRunner.run(%w[sleep 10], timeout: 20) } }.to raise_error(Timeout::Error)
    end
    expect(ours.last.outcome).to eq(:interrupted)
  end

  it "names Thread#kill of the calling thread :interrupted" do
    _, ours = events_during do
      thread = Thread.new { GazetteRunner.run(%w[sleep 30], timeout: 60) }
      eventually(within: 10) { GazetteRunner.running.any? { |child| child.thread == thread } }
      thread.kill
      expect(thread.join(10)).to equal(thread)
    end
    expect(ours.last).to have_attributes(outcome: :interrupted, error: nil)
  end

  it "keeps going when a subscriber raises, and logs it" do
    log = StringIO.new
    GazetteRunner.logger = Logger.new(log)
    failing = GazetteRunner.subscribe { |_| raise "subscriber bug" }
    result = GazetteRunner.run(%w[echo fine], timeout: 5)
    expect(result.stdout).to eq("fine\n")
    expect(log.string).to include('"gazette_runner":"subscriber_error"', "subscriber bug")
  ensure
    failing&.unsubscribe
    GazetteRunner::Instrumentation.default_logger!
  end

  it "stops delivering after unsubscribe" do
    events = []
    subscription = GazetteRunner.subscribe { |event| events << event }
    GazetteRunner.run(%w[true])
    expect(subscription.unsubscribe).to be(true)
    expect(GazetteRunner.unsubscribe(subscription)).to be(false)
    GazetteRunner.run(%w[true])
    expect(events.size).to eq(1)
  end

  it "refuses subscribe without a block" do
    expect { GazetteRunner.subscribe }.to raise_error(ArgumentError)
  end
end
