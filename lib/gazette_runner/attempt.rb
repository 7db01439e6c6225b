# frozen_string_literal: true

module GazetteRunner
  # One spawn of a {Call}'s program: the deadline's and the breaker's
  # permission, the run itself with its hooks, and the report of what
  # happened, whatever happened — including Thread#kill, which raises nothing.
  # @api private
  class Attempt
    OUTPUT_HOOKS = %i[on_stdout on_stderr].freeze
    private_constant :OUTPUT_HOOKS

    # @return [Symbol, nil] one of {Event::OUTCOMES}, once the attempt has ended
    attr_reader :outcome
    # @return [Float, nil] seconds from the deadline's check to the report, once the attempt has ended
    attr_reader :duration
    # @return [Object] what the block given to {#run} returned
    attr_reader :value
    # @return [Exception, nil] what ended the attempt, if anything raised
    attr_reader :error

    # Raises the error a run's ending stands for, if any: its bound or a
    # stream's limit ended it.
    # @param result [Result]
    # @param bound [Float] seconds
    # @param max_output [Integer] bytes
    # @param started [Float] {Deadline.now} when the call began
    # @return [void]
    # @raise [TimeoutError, OutputLimitError]
    def self.raise_for_ending(result, bound, max_output, started)
      case result.ending
      when :timeout then raise TimeoutError.new(result, bound, returned_after: Deadline.now - started)
      when :stdout_limit then raise OutputLimitError.new(result, :stdout, max_output)
      when :stderr_limit then raise OutputLimitError.new(result, :stderr, max_output)
      end
    end

    # @param call [Call]
    # @param number [Integer] from 1
    def initialize(call, number)
      @call = call
      @number = number
      @started = Deadline.now
    end

    # Runs the attempt; afterwards {#value} or {#error} holds how it ended. The
    # gem's own errors are kept in {#error} for the retry loop to decide on;
    # anything else (an interruption, a callback's exception) propagates.
    # @yieldparam result [Result] a finished run; the block raises or converts
    # @return [void]
    def run(&)
      @payload = Instrumentation.payload
      @value = Instrumentation.around(@payload) { observed(&) }
    rescue Error
      nil
    end

    # The report, made when first asked for: most calls have no subscriber,
    # logger, retry or estimator to hand it to.
    # @return [Event, nil] nil until the attempt has ended
    def event
      @event ||= @duration && Event.of_attempt(@outcome, @call.argv, @duration, pid, progress, @number,
                                               @call.retry_policy.max_attempts, @bound, @call.breaker&.name, @error,
                                               @result, @job)
    end

    # @return [Integer, nil] the program's pid; nil when none was started
    def pid = @pid || @result&.pid

    # Called by the native run once the program runs (not for callers); the
    # native run lists it in {GazetteRunner.running} itself.
    # @api private
    # @param pid [Integer]
    # @param live_progress [Native::LiveProgress]
    # @return [void]
    def spawned(pid, live_progress)
      @pid = pid
      @live_progress = live_progress
    end

    private

    def observed(&)
      value = execute(&)
      @outcome = Event.outcome_of_ending(@result.ending, @result.success?)
      value
    rescue Exception => e # rubocop:disable Lint/RescueException -- every ending is reported, then re-raised
      @outcome = @callback_error.equal?(e) ? :callback_error : Event.outcome_of(e)
      @error = e
      raise
    ensure
      @outcome ||= :interrupted # Thread#kill
      settle
    end

    def execute(&finish)
      admit
      Instrumentation.started do
        { argv: @call.argv, env: @call.env_names, bound: @bound.round(3), attempt: @number,
          max_attempts: @call.retry_policy.max_attempts, breaker: @call.breaker&.name }
      end
      @result = @call.execute(@bound, self, hooks)
      Attempt.raise_for_ending(@result, @bound, @call.max_output, @started)
      finish.call(@result)
    end

    # The deadline first: a call that cannot run must not take the breaker's only probe.
    def admit
      @bound = @call.bound
      @probe = @call.breaker.admit(@call.argv.first) == :probe if @call.breaker
      @admitted = true
      @watch = @call.estimator&.watch(size: @call.size) # the slower_than_learned alert
    end

    # Only when asked for, as each costs a Ruby call per read or report.
    # Progress needs none: the native side keeps the latest report.
    def hooks
      callbacks = @call.callbacks
      return nil if callbacks.empty?

      hooks = {}
      hooks[:on_progress] = method(:progressed) if callbacks[:on_progress]
      OUTPUT_HOOKS.each do |stream|
        callable = callbacks[stream]
        hooks[stream] = LineHook.build(callable) { |error| @callback_error = error } if callable
      end
      hooks
    end

    def progressed(percent, message)
      callback(@call.callbacks[:on_progress], Progress.new(percent:, message:))
    end

    # Notes the exception, so the attempt reports :callback_error rather than
    # :interrupted. Only StandardErrors: an Interrupt or Sidekiq::Shutdown that
    # happens to arrive while a callback runs is still an interruption.
    def callback(callable, argument)
      callable.call(argument)
    rescue StandardError => e
      @callback_error = e
      raise
    end

    def settle
      record_in_breaker
      @duration = Deadline.now - @started
      @job = JobContext.current # the calling fiber's, whenever the event is made
      Instrumentation.finished(self, @payload)
      @watch&.finish
      @call.estimator&.record(event, size: @call.size)
    end

    # A finished run's result holds the last report, and asking the native
    # run again would only cost a call; the live one is for runs that raised.
    def progress = @result ? @result.progress : Progress.from_native(@live_progress&.latest)

    def record_in_breaker
      return unless @admitted && @call.breaker
      # A probe is always answered, or the breaker would stay half-open for good.
      return if Event::NEUTRAL.include?(@outcome) && !@probe

      @call.breaker.record(@outcome == :ok, probe: @probe)
    end
  end
end
