# frozen_string_literal: true

require "spec_helper"
require "gazette_runner/fleet"

# The gem's background threads (fleet publisher, estimator syncs) log what
# they meet and go on: one that died silently would stop every alert.
RSpec.describe GazetteRunner::Fleet::Background do
  it "goes on after a round raises anything, even what is no StandardError" do
    errors = Queue.new
    rounds = Queue.new
    failures = [NoMemoryError.new("round 1"), ScriptError.new("round 2"), RuntimeError.new("round 3")]
    background = described_class.new("spec background", interval: 0.01, on_error: ->(e) { errors << e },
                                                        round: lambda {
                                                          rounds << :round
                                                          failure = failures.shift
                                                          raise failure if failure
                                                        })
    expect(background.start).to be(true)
    expect(background.start).to be(false) # once
    expect(eventually(within: time_bound(3)) { rounds.size >= 5 }).to be(true)
    expect(background).to be_running
    expect(Array.new(3) { errors.pop(true) }.map(&:message)).to eq(["round 1", "round 2", "round 3"])
  ensure
    background&.stop(2)
    expect(background).not_to be_running
  end

  it "runs a last round when stopped" do
    last = Queue.new
    background = described_class.new("spec background", interval: 60, on_error: ->(e) { raise e },
                                                        round: -> {}, last_round: -> { last << :done })
    background.start
    background.stop(time_bound(2))
    expect(last.pop(true)).to eq(:done)
  end
end
