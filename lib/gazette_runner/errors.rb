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
  # was raised.
  class TimeoutError < Timeout::Error
    include Error

    # @param result [GazetteRunner::Result]
    # @param timeout [Float] the bound, in seconds
    def initialize(result, timeout)
      @result = result
      super("#{result.argv.first} timed out after #{format("%.3g", timeout)} s " \
            "(ended by #{result.signal_name || "exit #{result.exit_code.inspect}"}); " \
            "#{Result.tail_note(result.stderr)}")
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
      super("#{result.argv.first} wrote more than #{limit} bytes to #{stream}; it was ended")
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
      super("#{result.argv.first} #{how}; #{Result.tail_note(result.stderr)}")
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
end
