# frozen_string_literal: true

module GazetteRunner
  # When and how long to wait before running a failed program again:
  # exponential backoff with jitter, capped. Built from `retries:`, `backoff:`,
  # `max_backoff:` and `retry_on:`, or passed whole as `retry_policy:` (a
  # constant shared by many jobs, or one with a seeded Random and a recording
  # sleeper in tests). Frozen.
  #
  # The wait before attempt n + 1 is drawn uniformly from [c / 2, c], where
  # c = min(max_backoff, backoff * 2**(n - 1)): never less than half the
  # planned backoff, so retries stay spaced, and jittered, so jobs that failed
  # together do not all come back at the same instant.
  class RetryPolicy
    # Outcomes that may be retried: each names something that happened to the
    # program and might not happen again.
    RETRYABLE = %i[timeout exit_error output_limit spawn_error empty_output invalid_json schema_error].freeze
    # Retried unless `retry_on:` says otherwise. A program that cannot start or
    # prints the wrong thing will most likely do it again.
    DEFAULT_RETRY_ON = %i[timeout exit_error].freeze
    # Seconds of the first wait, unless `backoff:` says otherwise.
    DEFAULT_BACKOFF = 1.0
    # No wait is longer than this, unless `max_backoff:` says otherwise.
    DEFAULT_MAX_BACKOFF = 30.0

    # @return [Integer] attempts after the first
    attr_reader :retries
    # @return [Float] seconds; the first wait's ceiling
    attr_reader :backoff
    # @return [Float] seconds; no wait is longer
    attr_reader :max_backoff
    # @return [Array<Symbol>] the outcomes retried
    attr_reader :retry_on

    # @param retries [Integer] attempts after the first (>= 0)
    # @param backoff [Numeric] seconds (>= 0); the ceiling of the first wait, doubled for each later one
    # @param max_backoff [Numeric] seconds (>= 0); no wait is longer
    # @param retry_on [Array<Symbol>] outcomes to retry, from {RETRYABLE}
    # @param random [#rand] the jitter's source (`rand` returning a Float in [0, 1))
    # @param sleeper [#call] called with the seconds to wait (Kernel#sleep by default)
    # @raise [ArgumentError] a value out of range or an outcome that cannot be retried
    def initialize(retries: 0, backoff: DEFAULT_BACKOFF, max_backoff: DEFAULT_MAX_BACKOFF, # rubocop:disable Metrics/ParameterLists
                   retry_on: DEFAULT_RETRY_ON, random: Random, sleeper: Kernel.method(:sleep))
      @retries = Options.number(retries, "retries")
      @backoff = Options.number(backoff, "backoff")
      @max_backoff = Options.number(max_backoff, "max_backoff")
      @retry_on = RetryPolicy.outcomes(retry_on)
      @random = random
      @sleeper = sleeper
      freeze
    end

    # @api private
    # @return [Array<Symbol>] frozen
    # @raise [ArgumentError]
    def self.outcomes(retry_on)
      list = Array(retry_on)
      wrong = list.reject { |outcome| RETRYABLE.include?(outcome) }
      unless wrong.empty?
        raise ArgumentError, "retry_on: #{wrong.map(&:inspect).join(", ")} cannot be retried; " \
                             "choose from #{RETRYABLE.map(&:inspect).join(", ")}"
      end

      list.uniq.freeze
    end

    # @return [Integer] the most attempts a call makes
    def max_attempts = retries + 1

    # @return [Boolean] true when a call may run more than once
    def retries? = retries.positive?

    # @param outcome [Symbol] what happened to attempt number `attempt`
    # @param attempt [Integer] 1-based
    # @return [Boolean] true when another attempt is allowed after this one
    def retry?(outcome, attempt) = attempt <= retries && retry_on.include?(outcome)

    # @param attempt [Integer] the attempt that just failed, 1-based
    # @return [Float] the longest wait after it, before jitter
    def ceiling(attempt) = [max_backoff, backoff * (2**(attempt - 1))].min

    # @param attempt [Integer] the attempt that just failed, 1-based
    # @return [Float] seconds to wait before the next one, in [ceiling / 2, ceiling]
    def delay(attempt)
      ceiling = ceiling(attempt)
      (ceiling / 2) + (@random.rand * ceiling / 2)
    end

    # Whether to run again after an attempt, and after how long.
    # @param event [Event] the attempt that just ended
    # @param deadline [Deadline, nil] the call's deadline
    # @param kill_after [Float] the call's kill grace, which the next attempt needs inside the deadline
    # @return [Float, nil] seconds to wait before the next attempt, nil when there is none
    def delay_after(event, deadline, kill_after)
      return nil unless retry?(event.outcome, event.attempt)

      delay = delay(event.attempt)
      # A wait that leaves no budget for the next attempt would only delay the error.
      return nil if deadline && deadline.remaining - delay - kill_after <= 0

      delay
    end

    # @return [Float] the most a call can spend waiting between attempts
    def worst_case_waits = (1..retries).sum(0.0) { |attempt| ceiling(attempt) }

    # The longest a call can take without a deadline: every attempt running
    # to its bound and its kill grace, plus every wait at its ceiling (plus a
    # few milliseconds per attempt for spawning and reaping).
    # @param timeout [Numeric] seconds
    # @param kill_after [Numeric] seconds
    # @return [Float] seconds
    def worst_case(timeout:, kill_after: GazetteRunner::DEFAULT_KILL_AFTER)
      (max_attempts * (timeout + kill_after)) + worst_case_waits
    end

    # @api private
    # @param seconds [Float]
    # @return [void]
    def wait(seconds) = @sleeper.call(seconds)

    # @return [String]
    def inspect
      "#<#{self.class.name} retries=#{retries} backoff=#{backoff} max_backoff=#{max_backoff} " \
        "retry_on=#{retry_on.inspect}>"
    end
  end
end
