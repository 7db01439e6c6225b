# frozen_string_literal: true

require "tmpdir"

# Each of the gem's errors, raised by a real run, answers #outcome with the
# Symbol of the event its attempt reported.
RSpec.describe "GazetteRunner::Error#outcome" do
  breaker = GazetteRunner::CircuitBreaker.new("outcome-spec-#{Process.pid}", threshold: 1, cool_off: 60)
  calls = {
    spawn_error: -> { GazetteRunner.run(["/nonexistent/slicer"]) },
    exit_error: -> { GazetteRunner.run!(%w[false]) },
    timeout: -> { GazetteRunner.run(%w[sleep 5], timeout: 0.1, kill_after: 0) },
    output_limit: -> { GazetteRunner.run(["sh", "-c", "printf 123456789"], max_output: 4) },
    empty_output: -> { GazetteRunner.run_json(%w[true]) },
    invalid_json: -> { GazetteRunner.run_json(["echo", "{"]) },
    schema_error: -> { GazetteRunner.run_json(%w[echo 1], schema: { "type" => "string" }) },
    circuit_open: lambda {
      begin
        GazetteRunner.run!(%w[false], breaker:)
      rescue GazetteRunner::ExitError
        nil
      end
      GazetteRunner.run(%w[true], breaker:)
    }
  }

  calls.each do |outcome, call|
    it "is :#{outcome} when the event says :#{outcome}" do
      error = nil
      events = events_of { error = error_from(&call) }
      expect(error).to be_a(GazetteRunner::Error)
      expect(error.outcome).to eq(outcome)
      expect(events.last.outcome).to eq(outcome)
    end
  end

  # No program can make the extension panic: InternalError's outcome is read off the error itself.
  it "covers every outcome an error can stand for" do
    expect(calls.keys).to match_array(GazetteRunner::Event::ERROR_OUTCOMES.values - [:internal_error])
    expect(GazetteRunner::InternalError.new.outcome).to eq(:internal_error)
  end
end
