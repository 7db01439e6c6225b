# frozen_string_literal: true

module GazetteRunner
  class Batch
    # One command of the batch: its Call, run by a worker; the executor of its attempts.
    class Task
      # @return [Integer] the command's place in the input
      attr_reader :index
      # @return [Float] when a task between attempts is due again (Deadline.now's clock)
      attr_reader :wake_at

      # @param batch [Batch]
      # @param call [Call]
      # @param index [Integer]
      def initialize(batch, call, index)
        @batch = batch
        @call = call
        @index = index
        @state = :not_started
      end

      # Goes on with the command in its worker: `result` is its program's,
      # or nil after a pause.
      # @param result [Result, nil]
      # @return [void]
      def resume(result)
        @worker.resume(result)
      end

      # @return [Boolean] between attempts
      def pausing? = @state == :pausing
      # @return [Boolean]
      def failed? = @state == :failed

      # A hook of the running attempt raised; the native batch ended the program.
      # @param error [StandardError]
      # @return [void]
      def hook_failed(error)
        @hook_error = error
      end

      # Another command failed: the running program is being ended.
      # @return [void]
      def cancel
        @cancelled = true
      end

      # Runs this command's program in the batch and waits (by yielding) for its outcome.
      # @api private
      # @param call [Call]
      # @param bound [Float]
      # @param observer [#spawned]
      # @param hooks [Hash{Symbol=>#call}, nil]
      # @return [Result]
      def execute(call, bound, observer, hooks)
        cancelled! if @batch.stopping?
        @hook_error = nil
        @batch.register(@batch.native.start(call, bound, observer, hooks), self)
        result = Fiber.yield
        raise @hook_error if @hook_error

        cancelled!(result) if @cancelled
        result
      end

      # Runs a plain call's program in the batch (which lists it and records
      # its outcome) and waits (by yielding) for its result.
      # @api private
      # @param call [Call] {Call#plain?}
      # @param bound [Float]
      # @return [Result]
      def execute_plain(call, bound)
        if @batch.stopping?
          GazetteRunner.stats.record(:interrupted, nil) # as a full attempt refused here reports
          cancelled!
        end
        @hook_error = nil
        @batch.register(@batch.native.start_plain(call.argv, bound, call.kill_after, call.max_output), self)
        result = Fiber.yield
        # No hook runs, but an exception raised into the thread while the
        # result was made comes back the way a hook's does.
        raise @hook_error if @hook_error

        cancelled!(result) if @cancelled
        result
      end

      # Waits between attempts by yielding to the batch.
      # @api private
      # @param seconds [Float]
      # @param _retry_policy [RetryPolicy] whose sleeper a batch does not use
      # @return [void]
      def pause(seconds, _retry_policy)
        @state = :pausing
        @wake_at = Deadline.now + seconds
        Fiber.yield
        @state = :running
        cancelled! if @batch.stopping?
      end

      # @return [Fate]
      def fate
        Fate.new(index:, argv: @call.argv, state: @state, result: @result, error: @error)
      end

      # Runs the command's attempts in the current worker, which yields
      # whenever its program runs or it waits between attempts.
      # @return [void]
      def perform
        @state = :running
        @worker = Fiber.current
        @result = if @call.plain?
                    @call.perform_plain(self) { |result| GazetteRunner.__send__(:succeeded, result) }
                  else
                    @call.perform(self) { |result| GazetteRunner.__send__(:succeeded, result) }
                  end
        @state = :succeeded
      rescue CancelledError => e
        @state = :cancelled
        @error = e
      rescue StandardError => e
        # A gem error or the command's own callback's: this command failed.
        # Anything else (an interruption) ends the whole batch.
        raise unless e.is_a?(Error) || e.equal?(@hook_error)

        @state = :failed
        @error = e
      end

      private

      def cancelled!(result = nil)
        raise CancelledError.new(result, Redaction.program(@call.argv))
      end
    end
    private_constant :Task
  end
end
