# frozen_string_literal: true

RSpec.describe "health checks" do
  it "is healthy when the program exits 0 within its bound" do
    health = GazetteRunner.health(sh("echo ok"))
    expect(health.healthy?).to be(true)
    expect(health).to have_attributes(outcome: :ok, error: nil)
    expect(health.reason).to match(/\Ash exited 0 in [\d.e-]+ s\z/)
    expect(health.result.stdout).to eq("ok\n")
    expect(health).to be_frozen
    expect(GazetteRunner.healthy?(%w[true])).to be(true)
  end

  it "gives the reason when the program fails, with its stderr tail" do
    health = GazetteRunner.health(sh("echo 'No module named fitz' >&2; exit 1"))
    expect(health.healthy?).to be(false)
    expect(health.outcome).to eq(:exit_error)
    expect(health.reason).to eq("sh exited with 1; stderr: No module named fitz")
    expect(health.to_h).to eq(healthy: false, outcome: :exit_error, reason: health.reason)
  end

  it "gives the reason when the program cannot start" do
    health = GazetteRunner.health(["/nonexistent/slice_gazette.py"])
    expect(health).to have_attributes(healthy?: false, outcome: :spawn_error)
    expect(health.error).to be_a(GazetteRunner::SpawnError)
    expect(health.reason).to include("/nonexistent/slice_gazette.py")
  end

  it "is bounded by 10 s unless told otherwise, and a hang is a timeout" do
    events = events_of { GazetteRunner.healthy?(%w[true]) }
    expect(events.first.bound).to eq(10.0)

    took = elapsed do
      health = GazetteRunner.health(%w[sleep 30], timeout: 0.2, kill_after: 0.1)
      expect(health).to have_attributes(healthy?: false, outcome: :timeout)
      expect(health.reason).to include("timed out after 0.2 s")
    end
    expect(took).to be < 5
  end

  it "checks stdout against expect:" do
    expect(GazetteRunner.healthy?(sh("echo version 3.11"), expect: /version 3\.\d+/)).to be(true)
    expect(GazetteRunner.healthy?(sh("echo version 3.11"), expect: "3.11")).to be(true)
    health = GazetteRunner.health(sh("echo version 2.7"), expect: /version 3\./)
    expect(health).to have_attributes(healthy?: false, outcome: :ok)
    expect(health.reason).to include("does not match /version 3\\./")
  end

  it "reports an open breaker as unhealthy without running anything" do
    breaker = GazetteRunner::CircuitBreaker.new("spec-health-#{Process.pid}", threshold: 1)
    GazetteRunner.run(%w[false], breaker:)
    health = GazetteRunner.health(%w[true], breaker:)
    expect(health).to have_attributes(healthy?: false, outcome: :circuit_open)
  ensure
    breaker&.reset
  end

  it "raises ArgumentError for bad arguments rather than calling them unhealthy" do
    expect { GazetteRunner.health("python3 --version") }.to raise_error(ArgumentError)
    expect { GazetteRunner.health(%w[true], expect: 3) }.to raise_error(ArgumentError)
    expect { GazetteRunner.health(%w[true], timeout: 0) }.to raise_error(ArgumentError)
  end
end
