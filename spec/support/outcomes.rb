# frozen_string_literal: true

# What a call ended in, for specs that look at errors and events rather than
# letting RSpec's matchers catch them.
module OutcomeHelpers
  # A run with no option is one native call (Native.run) only while nothing
  # listens and no stub applies. A spec of that path checks so first: a
  # logger, subscriber, listener or stub left by another spec must fail it,
  # not quietly turn it into a spec of the full path.
  def expect_plain_runs
    expect(GazetteRunner::Instrumentation.quiet?).to be(true)
    expect(defined?(GazetteRunner::Testing) && GazetteRunner::Testing.enabled?).to be_falsey
    expect(GazetteRunner::Deadline.current).to be_nil
  end

  # The StandardError the block raised, or nil.
  def error_from
    yield
    nil
  rescue StandardError => e
    e
  end

  # Events of the calls the block makes, in order.
  def events_of
    events = []
    subscription = GazetteRunner.subscribe { |event| events << event }
    yield
    events
  ensure
    subscription&.unsubscribe
  end
end
