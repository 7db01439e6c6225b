# frozen_string_literal: true

require "securerandom"
require "tmpdir"

RSpec.describe GazetteRunner::CircuitBreaker do
  # Like the job threads of one Sidekiq process at concurrency 25.
  def thread_count = 25

  # Each example gets breakers of its own: the state is process-wide, by name.
  def breaker(threshold: 5, cool_off: 60)
    @names << (name = "spec-#{SecureRandom.hex(6)}")
    described_class.new(name, threshold:, cool_off:)
  end

  # A program that appends a line to the counter file each time it runs, then runs `rest`.
  def counted(rest) = sh("echo x >> #{@counter}; #{rest}")

  def runs = File.exist?(@counter) ? File.readlines(@counter).size : 0

  # Starts `count` threads that wait on a gate, so their calls begin together.
  def threads_at_gate(count, &)
    gate = Queue.new
    threads = Array.new(count) do
      Thread.new do
        gate.pop
        yield
      end
    end
    count.times { gate << :go }
    threads
  end

  def values_of(threads) = threads.map { |t| t.join(30) ? t.value : raise("a thread did not finish in 30 s") }

  around do |example|
    @names = []
    Dir.mktmpdir("gazette-breaker") do |dir|
      @dir = dir
      @counter = File.join(dir, "runs")
      example.run
    end
  ensure
    @names.each { |name| GazetteRunner::CircuitBreaker.new(name).reset }
  end

  it "opens after threshold consecutive failures, then raises CircuitOpenError at once without spawning" do
    slicer = breaker(threshold: 3)
    3.times { GazetteRunner.run(counted("exit 1"), breaker: slicer) }
    expect(slicer.state).to eq(:open)
    expect(slicer.failures).to eq(3)
    expect(slicer.retry_in).to be_between(50, 60)

    error = nil
    took = elapsed { error = error_from { GazetteRunner.run(counted("exit 0"), breaker: slicer) } }
    expect(error).to be_a(GazetteRunner::CircuitOpenError).and(be_a(GazetteRunner::Error))
    expect(error).to have_attributes(breaker: slicer.name, result: nil)
    expect(error.retry_in).to be_between(50, 60)
    expect(error.message).to include(slicer.name, "sh was not started")
    expect(took).to be < 0.5
    expect(runs).to eq(3)
  end

  it "counts only consecutive failures: a success starts the count again" do
    slicer = breaker(threshold: 3)
    %w[1 1 0 1 1].each { |code| GazetteRunner.run(counted("exit #{code}"), breaker: slicer) }
    expect(slicer).to have_attributes(state: :closed, failures: 2)
  end

  it "counts timeouts, spawn errors and bad output as failures, but not a callback's exception" do
    slicer = breaker(threshold: 10)
    error_from { GazetteRunner.run(%w[sleep 5], timeout: 0.1, kill_after: 0.1, breaker: slicer) }
    error_from { GazetteRunner.run(["/nonexistent/gazette-program"], breaker: slicer) }
    error_from { GazetteRunner.run_json(%w[echo nope], breaker: slicer) }
    expect(slicer.failures).to eq(3)
    error_from { GazetteRunner.run(%w[echo hi], on_stdout: ->(_) { raise "callback bug" }, breaker: slicer) }
    expect(slicer.failures).to eq(3)
  end

  it "shares one state between breakers of the same name" do
    first = breaker(threshold: 2)
    second = described_class.new(first.name, threshold: 2, cool_off: 60)
    GazetteRunner.run(counted("exit 1"), breaker: first)
    GazetteRunner.run(counted("exit 1"), breaker: second)
    expect([first.state, second.state]).to eq(%i[open open])
    expect(error_from { GazetteRunner.run(counted("true"), breaker: first) }).to be_a(GazetteRunner::CircuitOpenError)
    expect(runs).to eq(2)
  end

  it "opens under 25 threads: once threshold failures are in, no thread spawns again" do
    slicer = breaker(threshold: 5)
    callers = threads_at_gate(thread_count) do
      Array.new(4) { error_from { GazetteRunner.run!(counted("exit 1"), breaker: slicer) } }
    end
    errors = values_of(callers).flatten
    failed = errors.grep(GazetteRunner::ExitError).size
    refused = errors.grep(GazetteRunner::CircuitOpenError).size
    expect(failed + refused).to eq(thread_count * 4)
    expect(runs).to eq(failed) # nothing was spawned that did not count
    # Calls admitted before the 5th failure was recorded: 5, plus at most one
    # in flight in each of the other 24 threads. Every later call was refused.
    expect(failed).to be_between(5, 5 + thread_count - 1)
    expect(slicer.state).to eq(:open)
  end

  it "lets exactly one probe through when half-open under 25 threads, and closes when it succeeds" do
    slicer = breaker(threshold: 1, cool_off: 0.3)
    GazetteRunner.run(counted("exit 1"), breaker: slicer)
    expect(slicer.state).to eq(:open)
    expect(eventually(within: 5) { slicer.retry_in.zero? }).to be(true)

    go = File.join(@dir, "go")
    refusals = Queue.new
    # The probe waits for the test's go-ahead, so all other threads try while it runs.
    callers = threads_at_gate(thread_count) do
      GazetteRunner.run!(counted("while [ ! -e #{go} ]; do sleep 0.01; done"), breaker: slicer, timeout: 20)
    rescue GazetteRunner::CircuitOpenError => e
      refusals << e
      e
    end
    expect(eventually(within: 15) { refusals.size == thread_count - 1 }).to be(true)
    expect(slicer.state).to eq(:half_open)
    File.write(go, "")
    values = values_of(callers)

    expect(values.grep(GazetteRunner::Result).map(&:success?)).to eq([true])
    expect(runs).to eq(1 + 1) # the failure that opened it, and the probe
    expect(slicer).to have_attributes(state: :closed, failures: 0)

    # Closed again: every thread runs.
    results = values_of(threads_at_gate(thread_count) { GazetteRunner.run!(%w[true], breaker: slicer) })
    expect(results.map(&:success?)).to all(be(true))
  end

  it "reopens for another cool_off when the probe fails" do
    slicer = breaker(threshold: 1, cool_off: 0.3)
    GazetteRunner.run(counted("exit 1"), breaker: slicer)
    expect(eventually(within: 5) { slicer.retry_in.zero? }).to be(true)
    GazetteRunner.run(counted("exit 1"), breaker: slicer) # the probe
    expect(slicer.state).to eq(:open)
    expect(slicer.retry_in).to be > 0
    expect(error_from { GazetteRunner.run(counted("true"), breaker: slicer) }).to be_a(GazetteRunner::CircuitOpenError)
    expect(runs).to eq(2)
  end

  it "answers an interrupted probe as failed, so the breaker does not stay half-open" do
    slicer = breaker(threshold: 1, cool_off: 0.3)
    GazetteRunner.run(counted("exit 1"), breaker: slicer)
    expect(eventually(within: 5) { slicer.retry_in.zero? }).to be(true)
    error_from { GazetteRunner.run(%w[echo hi], on_stdout: ->(_) { raise "callback bug" }, breaker: slicer) }
    expect(slicer.state).to eq(:open)
  end

  it "can be reset" do
    slicer = breaker(threshold: 1)
    GazetteRunner.run(counted("exit 1"), breaker: slicer)
    expect(slicer.reset).to equal(slicer)
    expect(slicer).to have_attributes(state: :closed, failures: 0, closed?: true, open?: false)
  end

  it "is frozen and refuses bad arguments" do
    expect(breaker).to be_frozen
    expect { described_class.new("") }.to raise_error(ArgumentError)
    expect { described_class.new("x", threshold: 0) }.to raise_error(ArgumentError)
    expect { described_class.new("x", cool_off: 0) }.to raise_error(ArgumentError)
    expect { GazetteRunner.run(%w[true], breaker: "slicer") }.to raise_error(ArgumentError, /CircuitBreaker/)
  end
end
