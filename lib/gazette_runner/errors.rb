# frozen_string_literal: true

require "timeout"

module GazetteRunner
  # Every error about running a program includes this module, so
  # `rescue GazetteRunner::Error` catches them all. It is a module rather than
  # a base class because {TimeoutError} must also be a `Timeout::Error`, so that
  # jobs written as `rescue Timeout::Error` keep working unchanged. Bad
  # arguments are plain `ArgumentError`s and do not include it.
  module Error
    # @return [GazetteRunner::Result, nil] what was known when the error
    #   happened (partial output, duration, pid); nil when no process ran
    attr_reader :result

    # @return [Integer] how many attempts were made (more than 1 only with `retries:`)
    def attempts = @attempts || 1

    # The outcome this error stands for, the same Symbol that the attempt's
    # {Event#outcome} carries (see {Event.outcome_of}), e.g. `:timeout`.
    # @return [Symbol] one of {Event::OUTCOMES}
    def outcome = Event.outcome_of(self)

    # @api private
    # @param count [Integer] set by the retry loop on the error it finally raises
    # @return [void]
    def attempts=(count)
      @attempts = count
    end

    # The message says how many attempts were made once the retry loop has
    # counted them, so a log line alone shows that the failure was persistent.
    # @return [String]
    def to_s
      text = super
      return text if @attempts.nil?

      "#{text} (after #{@attempts} attempt#{"s" unless @attempts == 1})"
    end
  end

  # The program could not be started: not found, not executable, a bad
  # `chdir:`, or the system out of descriptors or processes.
  class SpawnError < StandardError
    include Error

    # @return [Integer, nil] the operating system's errno
    attr_reader :errno
    # @return [String, nil] the program as given in argv
    attr_reader :program

    # @param message [String]
    # @param errno [Integer, nil]
    # @param program [String, nil]
    def initialize(message = "could not start the program", errno = nil, program = nil)
      super(message)
      @errno = errno
      @program = program
      @result = nil
    end
  end

  # The time bound passed. The program and everything in its process group were
  # ended (`SIGTERM`, then `SIGKILL` after `kill_after:`) and reaped before this
  # was raised. Also raised, with no {#result}, when a call's deadline has too
  # little left to start the program at all.
  #
  # The message tells when the signals really went out and, when the call
  # itself came back noticeably later (its thread waited for Ruby's GVL), when
  # it returned: the bound is kept by a native thread, the return is not.
  class TimeoutError < Timeout::Error
    include Error

    # How much later than the last signal a return must be to be worth a mention.
    LATE_RETURN = 0.25

    # @return [Float, nil] seconds from the start of the attempt to the moment this was raised
    attr_reader :returned_after

    # @param result [GazetteRunner::Result, nil] nil when nothing was started
    # @param timeout [Float] the bound, in seconds
    # @param message [String, nil] replaces the message built from result
    # @param returned_after [Float, nil] seconds the call took to come back
    def initialize(result, timeout, message = nil, returned_after: nil)
      @result = result
      @returned_after = returned_after
      super(message || TimeoutError.describe(result, timeout, returned_after))
    end

    # @api private
    # @return [String] what happened, with the real signal times
    def self.describe(result, timeout, returned_after)
      signals = { "SIGTERM" => result.terminated_at, "SIGKILL" => result.killed_at }.compact
      sent = signals.map { |name, at| "#{name} at #{format("%.3f", at)} s; " }.join
      "#{Redaction.program(result.argv)} timed out after #{format("%.3g", timeout)} s " \
        "(#{sent}ended by #{ending(result)}#{late_return(signals.values.max, returned_after)}); " \
        "#{Result.tail_note(result.stderr)}"
    end

    # @api private
    # @return [String] the signal or exit that ended the program
    def self.ending(result) = result.signal_name || "exit #{result.exit_code.inspect}"

    # @api private
    # @return [String] a note when the call came back well after the last signal, else ""
    def self.late_return(last_signal, returned_after)
      return "" unless last_signal && returned_after && returned_after - last_signal > LATE_RETURN

      "; the call returned after #{format("%.3f", returned_after)} s, its thread kept waiting for Ruby"
    end
  end

  # A bug of the gem itself (a panic in the native extension). Whatever the
  # call had started was ended and reaped before this was raised.
  class InternalError < StandardError
    include Error

    # @param message [String]
    def initialize(message = "gazette_runner internal error")
      super
      @result = nil
    end
  end

  # A stream went past `max_output:`; the program was ended. {#result} holds the
  # first `max_output` bytes of each stream.
  class OutputLimitError < StandardError
    include Error

    # @return [Symbol] :stdout or :stderr
    attr_reader :stream

    # @param result [GazetteRunner::Result]
    # @param stream [Symbol] :stdout or :stderr
    # @param limit [Integer] the cap in bytes
    def initialize(result, stream, limit)
      @result = result
      @stream = stream
      super("#{Redaction.program(result.argv)} wrote more than #{limit} bytes to #{stream}; it was ended")
    end
  end

  # The program exited with a non-zero code or was ended by a signal (raised by
  # {GazetteRunner.run!}).
  class ExitError < StandardError
    include Error

    # @param result [GazetteRunner::Result]
    def initialize(result)
      @result = result
      how = result.signal ? "was killed by #{result.signal_name}" : "exited with #{result.exit_code.inspect}"
      super("#{Redaction.program(result.argv)} #{how}; #{Result.tail_note(result.stderr)}")
    end

    # @return [Integer, nil] the exit code, nil when a signal ended it
    def exit_code = result.exit_code
    # @return [Integer, nil] the signal number
    def signal = result.signal
    # @return [String, nil] the signal's name, e.g. "SIGKILL"
    def signal_name = result.signal_name
    # @return [String] the last lines of stderr
    def stderr_tail = result.stderr_tail
  end

  # A {CircuitBreaker} is open: the program was not started. Raised at once,
  # without spawning anything, until the breaker's cool-off has passed.
  class CircuitOpenError < StandardError
    include Error

    # @return [String] the breaker's name
    attr_reader :breaker
    # @return [Float] seconds until the breaker lets a probe call through
    attr_reader :retry_in

    # @param breaker [String] the breaker's name
    # @param retry_in [Float] seconds until a probe is let through
    # @param program [String] the program that was not started
    def initialize(breaker, retry_in, program)
      @breaker = breaker
      @retry_in = retry_in
      @result = nil
      super("circuit breaker #{breaker.inspect} is open: #{program} was not started " \
            "(next probe in #{format("%.3g", retry_in)} s)")
    end
  end
end

module GazetteRunner
  # The program was ended, or not started again, because another command of
  # the same {GazetteRunner.run_all} failed first (fail fast). Its {#result}
  # holds what it printed until then, when it was running. Only ever seen in a
  # {Fate}: {GazetteRunner.run_all} raises {BatchError}.
  class CancelledError < StandardError
    include Error

    # @param result [GazetteRunner::Result, nil] the ended run; nil when it was between attempts
    # @param program [String] the program, as log lines show it
    def initialize(result, program)
      @result = result
      super("#{program} was cancelled: another command of its run_all failed")
    end
  end

  # Some commands of a {GazetteRunner.run_all} failed. {#fates} tells what
  # happened to every command, in input order: its result, its error, or that
  # it was cancelled or never started.
  class BatchError < StandardError
    include Error

    # @return [Array<Fate>] one per command, in input order (frozen)
    attr_reader :fates

    # @param fates [Array<Fate>]
    def initialize(fates)
      @fates = fates.freeze
      @result = first_failure.result
      super(BatchError.describe(fates, first_failure))
    end

    # @return [Array<Fate>] the commands that failed, in input order
    def failures = fates.select(&:failed?)

    # @return [Fate] the failure that came first in input order
    def first_failure = fates.find(&:failed?)

    # The first failure's outcome (e.g. `:exit_error`), as {Error#outcome};
    # `:callback_error` when it was the command's own callback that raised.
    # @return [Symbol]
    def outcome
      error = first_failure.error
      error.is_a?(Error) ? error.outcome : :callback_error
    end

    # @api private
    # @return [String] how many failed, were cancelled or never started, and the first failure's message
    def self.describe(fates, first)
      counts = fates.group_by(&:state).transform_values(&:size)
      others = { cancelled: "cancelled", not_started: "not started" }.filter_map do |state, label|
        "#{counts[state]} #{label}" if counts[state]
      end
      "#{counts[:failed]} of #{fates.size} commands failed#{"; #{others.join(", ")}" unless others.empty?}; " \
        "first (command #{first.index}): #{first.error.message}"
    end
  end
end
