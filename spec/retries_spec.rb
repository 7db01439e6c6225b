# frozen_string_literal: true

require "json"
require "logger"
require "stringio"
require "tmpdir"

RSpec.describe "retries" do
  # A policy whose waits are recorded rather than slept, with a seeded jitter.
  def recorded_policy(waits, seed: 1234, **options)
    GazetteRunner::RetryPolicy.new(random: Random.new(seed), sleeper: ->(seconds) { waits << seconds }, **options)
  end

  # A program that appends a line to the counter file each time it runs, then runs `rest`.
  def counted(rest) = sh("echo x >> #{@counter}; #{rest}")

  def runs = File.exist?(@counter) ? File.readlines(@counter).size : 0

  around do |example|
    Dir.mktmpdir("gazette-retries") do |dir|
      @counter = File.join(dir, "runs")
      example.run
    end
  end

  it "runs a failing program retries + 1 times, and the final error says how many attempts were made" do
    waits = []
    error = error_from { GazetteRunner.run!(counted("exit 3"), retry_policy: recorded_policy(waits, retries: 2)) }
    expect(error).to be_a(GazetteRunner::ExitError)
    expect(error.attempts).to eq(3)
    expect(error.message).to end_with("(after 3 attempts)")
    expect(runs).to eq(3)
    expect(waits.size).to eq(2)
  end

  it "stops at the first success" do
    # Fails on its first two runs, succeeds on the third.
    script = counted("[ $(wc -l < #{@counter}) -ge 3 ]")
    result = GazetteRunner.run!(script, retry_policy: recorded_policy([], retries: 5))
    expect(result.success?).to be(true)
    expect(runs).to eq(3)
  end

  it "retries a plain run's non-zero exit and returns the last attempt's Result, raising nothing" do
    events = events_of do
      @result = GazetteRunner.run(counted("echo attempt $(wc -l < #{@counter}); exit 4"),
                                  retries: 2, backoff: 0.01)
    end
    expect(@result.exit_code).to eq(4)
    expect(@result.stdout).to eq("attempt 3\n")
    expect(events.map { |e| [e.outcome, e.attempt, e.max_attempts] })
      .to eq([[:exit_error, 1, 3], [:exit_error, 2, 3], [:exit_error, 3, 3]])
  end

  it "retries timeouts by default" do
    error = error_from do
      GazetteRunner.run(counted("exec sleep 10"), timeout: 0.2, kill_after: 0.1, retries: 1, backoff: 0)
    end
    expect(error).to be_a(GazetteRunner::TimeoutError)
    expect(error.attempts).to eq(2)
    expect(runs).to eq(2)
  end

  it "never retries SpawnError, ArgumentError or validation errors unless retry_on: says so" do
    spawn_error = error_from { GazetteRunner.run(["/nonexistent/gazette-program"], retries: 3, backoff: 0) }
    expect(spawn_error).to be_a(GazetteRunner::SpawnError)
    expect(spawn_error.attempts).to eq(1)
    expect(spawn_error.message).to end_with("(after 1 attempt)")

    expect { GazetteRunner.run(counted("true"), retries: 3, timeout: -1) }.to raise_error(ArgumentError)
    expect(runs).to eq(0)

    empty = error_from { GazetteRunner.run_json(counted("true"), retries: 3, backoff: 0) }
    expect(empty).to be_a(GazetteRunner::EmptyOutputError)
    expect(runs).to eq(1)

    invalid = error_from do
      GazetteRunner.run_json(counted("echo '{'"), retries: 2, backoff: 0, retry_on: %i[invalid_json])
    end
    expect(invalid).to be_a(GazetteRunner::InvalidJsonError)
    expect(invalid.attempts).to eq(3)
    expect(runs).to eq(1 + 3)
  end

  it "retries only the outcomes retry_on: names" do
    error = error_from { GazetteRunner.run!(counted("exit 1"), retries: 3, backoff: 0, retry_on: %i[timeout]) }
    expect(error.attempts).to eq(1)
    expect(runs).to eq(1)
  end

  describe "backoff" do
    it "waits between c / 2 and c before attempt n + 1, c = min(max_backoff, backoff * 2**(n - 1))" do
      waits = []
      policy = recorded_policy(waits, retries: 6, backoff: 0.1, max_backoff: 0.5)
      error_from { GazetteRunner.run!(counted("exit 1"), retry_policy: policy) }
      ceilings = [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]
      expect(waits.size).to eq(6)
      waits.zip(ceilings).each { |wait, ceiling| expect(wait).to be_between(ceiling / 2, ceiling) }
      expect(waits.sum).to be <= policy.worst_case_waits
      expect(policy.worst_case_waits).to be_within(1e-9).of(ceilings.sum)
    end

    it "is jittered: the same seed plans the same waits, another seed other waits" do
      plan = ->(seed) { recorded_policy([], seed:, retries: 5, backoff: 1).then { |p| (1..5).map { |n| p.delay(n) } } }
      expect(plan.call(7)).to eq(plan.call(7))
      expect(plan.call(7)).not_to eq(plan.call(8))
    end

    it "states the worst-case total of a call without a deadline" do
      policy = GazetteRunner::RetryPolicy.new(retries: 3, backoff: 2, max_backoff: 5)
      # 4 attempts of (timeout + kill_after), plus waits of at most 2, 4 and 5 s.
      expect(policy.worst_case(timeout: 60, kill_after: 5)).to eq((4 * 65) + 2 + 4 + 5)
    end

    it "sleeps for real by default, and the wait is interruptible like any sleep" do
      took = elapsed { GazetteRunner.run(counted("exit 1"), retries: 1, backoff: 0.4) }
      expect(took).to be >= 0.2
      expect(runs).to eq(2)
    end
  end

  describe "with a deadline" do
    it "keeps every attempt and every wait inside it" do
      deadline = GazetteRunner::Deadline.in(3)
      planned = []
      sleeper = lambda do |seconds|
        planned << [seconds, deadline.remaining]
        sleep seconds
      end
      policy = GazetteRunner::RetryPolicy.new(retries: 50, backoff: 0.3, max_backoff: 0.6, sleeper:)
      took = elapsed do
        error = error_from do
          GazetteRunner.run(counted("exec sleep 10"), timeout: 0.4, kill_after: 0.1, deadline:, retry_policy: policy)
        end
        expect(error).to be_a(GazetteRunner::TimeoutError)
        expect(error.attempts).to be_between(2, 50)
      end
      expect(took).to be < 3 + 1.0
      # No wait was planned that would leave no time for the next attempt and its kill.
      planned.each { |seconds, remaining| expect(seconds + 0.1).to be < remaining }
    end

    it "gives up at once rather than sleep past it" do
      policy = recorded_policy(waits = [], retries: 5, backoff: 100, max_backoff: 100)
      error = error_from do
        GazetteRunner.run!(counted("exit 1"), deadline: GazetteRunner::Deadline.in(10), kill_after: 0.1,
                                              retry_policy: policy)
      end
      expect(error.attempts).to eq(1)
      expect(waits).to be_empty
    end
  end

  it "makes every attempt visible to instrumentation, and logs each retry" do
    log = StringIO.new
    GazetteRunner.logger = Logger.new(log)
    events = events_of { GazetteRunner.run(counted("exit 2"), retry_policy: recorded_policy([], retries: 2)) }
    expect(events.map(&:attempt)).to eq([1, 2, 3])
    expect(events.map(&:pid).uniq.size).to eq(3)
    retries = log.string.lines.map { |line| JSON.parse(line[/\{.*\}/]) }.select { |l| l["gazette_runner"] == "retry" }
    expect(retries.map { |l| l["attempt"] }).to eq([1, 2])
  ensure
    GazetteRunner::Instrumentation.default_logger!
  end

  it "refuses bad retry options before running anything" do
    expect { GazetteRunner.run(counted("true"), retries: -1) }.to raise_error(ArgumentError)
    expect { GazetteRunner.run(counted("true"), retries: 1, retry_on: %i[interrupted]) }.to raise_error(ArgumentError)
    expect { GazetteRunner.run(counted("true"), retries: 1, retry_policy: recorded_policy([])) }
      .to raise_error(ArgumentError, /retry_policy/)
    expect { GazetteRunner.run(counted("true"), backoff: -1) }.to raise_error(ArgumentError)
    expect(runs).to eq(0)
  end
end
