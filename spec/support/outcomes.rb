# frozen_string_literal: true

# What a call ended in, for specs that look at errors and events rather than
# letting RSpec's matchers catch them.
module OutcomeHelpers
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
