# frozen_string_literal: true

RSpec.describe "GazetteRunner.default_kill_after" do
  after { GazetteRunner.default_kill_after = GazetteRunner::DEFAULT_KILL_AFTER }

  # A program that ignores SIGTERM ends only by SIGKILL, kill_after after the bound.
  let(:stubborn) { sh("trap '' TERM; sleep 30") }

  it "is the grace between SIGTERM and SIGKILL of calls that give no kill_after:" do
    GazetteRunner.default_kill_after = 0.2
    error = nil
    took = elapsed { error = error_from { GazetteRunner.run(stubborn, timeout: 0.2) } }
    expect(error).to be_a(GazetteRunner::TimeoutError)
    expect(error.result.signal_name).to eq("SIGKILL")
    expect(took).to be_between(0.35, time_bound(2.5))
  end

  it "applies to a run with no option at all (one native call)" do
    expect_plain_runs
    GazetteRunner.default_kill_after = 0.2
    GazetteRunner.default_timeout = 0.2
    error = nil
    took = elapsed { error = error_from { GazetteRunner.run(stubborn) } }
    expect(error).to be_a(GazetteRunner::TimeoutError)
    expect(error.result.signal_name).to eq("SIGKILL")
    expect(error.result.killed_at - error.result.terminated_at).to be_within(0.15).of(0.2)
    expect(took).to be_between(0.35, time_bound(2.5))
  ensure
    GazetteRunner.default_timeout = GazetteRunner::DEFAULT_TIMEOUT
  end

  it "gives way to a call's own kill_after:" do
    GazetteRunner.default_kill_after = 20
    took = elapsed { error_from { GazetteRunner.run(stubborn, timeout: 0.2, kill_after: 0.1) } }
    expect(took).to be < time_bound(2.5)
  end

  it "defaults to DEFAULT_KILL_AFTER and refuses what is not a finite number >= 0" do
    expect(GazetteRunner.default_kill_after).to eq(5.0)
    [nil, -1, Float::INFINITY, "5"].each do |bad|
      expect { GazetteRunner.default_kill_after = bad }.to raise_error(ArgumentError, /kill_after must be/)
    end
    GazetteRunner.default_kill_after = 0
    expect(GazetteRunner.default_kill_after).to eq(0.0)
  end
end
