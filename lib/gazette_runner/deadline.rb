# frozen_string_literal: true

module GazetteRunner
  # A job's overall time budget, shared by every call made within it:
  #
  #   deadline = GazetteRunner::Deadline.in(1800)
  #   GazetteRunner.run(fetch, deadline:)              # bound: deadline.remaining - kill_after
  #   GazetteRunner.run(slice, deadline:, timeout: 900) # bound: the smaller of the two
  #
  # Each call's bound is cut so that even the SIGTERM-to-SIGKILL grace ends
  # inside the budget. Nothing is ever raised asynchronously: a deadline only
  # shortens the bounds of calls and makes calls refuse to start once too
  # little is left. Measured on the monotonic clock, so changes to the wall
  # clock do not move it. Frozen, so one deadline can be handed to other threads.
  class Deadline
    # Fiber-local, so a `within` block governs exactly the code it wraps.
    CURRENT_KEY = :__gazette_runner_deadline__
    private_constant :CURRENT_KEY

    # @return [Float] the monotonic clock reading at which the budget runs out
    attr_reader :expires_at

    class << self
      # @param seconds [Numeric] a finite number of seconds >= 0 from now
      # @return [Deadline]
      # @raise [ArgumentError] seconds is not a finite number >= 0
      def in(seconds)
        new(now + Options.number(seconds, "deadline"))
      end

      # @return [Deadline, nil] the deadline of the innermost {GazetteRunner.within}
      #   block running in this fiber
      def current = Thread.current[CURRENT_KEY]

      # Runs the block with `deadline` as {.current}, or the current one if that
      # is earlier: an inner block never extends the budget of an outer one.
      # @api private
      # @param deadline [Deadline]
      # @yieldparam effective [Deadline] the deadline in force inside the block
      # @return [Object] the block's value
      def with(deadline)
        outer = current
        effective = earliest(outer, deadline)
        Thread.current[CURRENT_KEY] = effective
        yield effective
      ensure
        Thread.current[CURRENT_KEY] = outer
      end

      # @param first [Deadline, nil]
      # @param second [Deadline, nil]
      # @return [Deadline, nil] the one that expires first, nil when both are nil
      def earliest(first, second)
        return first || second if first.nil? || second.nil?

        first.expires_at <= second.expires_at ? first : second
      end

      # @api private
      # @return [Float] the monotonic clock, in seconds
      def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    # @api private
    # @param expires_at [Float] a monotonic clock reading; use {.in}
    def initialize(expires_at)
      @expires_at = expires_at.to_f
      freeze
    end

    # @return [Float] seconds left, never negative
    def remaining = [expires_at - Deadline.now, 0.0].max

    # @return [Boolean] true once no time is left
    def expired? = remaining.zero?

    # The bound of one call: what is left once the kill grace is set aside,
    # and never more than `timeout` when one was given.
    # @api private
    # @param timeout [Float, nil] the call's own `timeout:`, nil when it gave none
    # @param kill_after [Float]
    # @param program [String] for the error message
    # @return [Float] seconds > 0
    # @raise [TimeoutError] too little is left to start the program
    def bound(timeout, kill_after, program)
      left = remaining
      budget = left - kill_after
      unless budget.positive?
        raise TimeoutError.new(nil, 0.0, "#{program} was not started: its deadline has " \
                                         "#{format("%.3g", left)} s left, not more than kill_after " \
                                         "(#{format("%.3g", kill_after)} s)")
      end

      timeout ? [timeout, budget].min : budget
    end

    # @return [String]
    def inspect = "#<#{self.class.name} remaining=#{format("%.3f", remaining)}s>"
  end
end
