# frozen_string_literal: true

module GazetteRunner
  module Testing
    # What a {Stub} answers: a {Result} built from `stdout:`, `stderr:`,
    # `exit_code:`, `signal:`, `progress:` and `duration:`, or the error that
    # `raises:` names. Frozen.
    class Response
      # The signals a stub may name, by number.
      SIGNALS = Signal.list.transform_keys { |name| "SIG#{name}" }.freeze
      # The pid a stubbed result reports: no process ran.
      NO_PID = 0

      # @param stdout [String]
      # @param stderr [String]
      # @param exit_code [Integer, nil] nil when `signal:` is given
      # @param signal [String, Integer, nil] e.g. "SIGKILL"
      # @param progress [Array<Array(Numeric, String), Progress>] reported in order
      # @param duration [Numeric] seconds
      # @param raises [Symbol, Class, Exception, nil]
      # @raise [ArgumentError] a bad value
      def initialize(stdout: "", stderr: "", exit_code: nil, signal: nil, progress: [], duration: 0.0, raises: nil) # rubocop:disable Metrics/ParameterLists
        @stdout = Options.stdin(stdout) || ""
        @stderr = Options.stdin(stderr) || ""
        @signal = signal_number(signal)
        @exit_code = @signal ? nil : Integer(exit_code || 0)
        @progress = Array(progress).map { |report| progress_of(report) }.freeze
        @duration = Options.number(duration, "duration")
        @raises = check_raises(raises)
        freeze
      end

      # Feeds the callbacks, then returns the result or raises the error.
      # @param argv [Array<String>]
      # @param options [Hash] the run's options (callbacks, max_output)
      # @return [Result]
      # @raise [Exception] the error `raises:` names
      def answer(argv, options)
        feed(options)
        raise error(argv, options) if @raises

        result(argv)
      end

      private

      def feed(options)
        { on_stdout: @stdout, on_stderr: @stderr }.each do |name, text|
          text.each_line { |line| options[name].call(line.chomp) } if options[name]
        end
        @progress.each { |report| options[:on_progress]&.call(report) }
      end

      def result(argv, ending: :natural, signal: @signal, exit_code: @exit_code)
        Result.new(argv:, pid: NO_PID, exit_code:, signal:, stdout: @stdout.dup, stderr: @stderr.dup,
                   duration: @duration, max_rss: nil, ending:, progress: @progress.last)
      end

      # The gem's error for an outcome, built as a real run would build it.
      def error(argv, options)
        return @raises if @raises.is_a?(Exception)
        return @raises.new unless @raises.is_a?(Symbol)

        case @raises
        when :timeout, :output_limit then limit_error(argv, options)
        when :spawn_error then SpawnError.new("#{argv.first}: No such file or directory", Errno::ENOENT::Errno,
                                              argv.first)
        when :circuit_open then CircuitOpenError.new("stubbed", 60.0, argv.first)
        when :internal_error then InternalError.new("gazette_runner internal error: stubbed")
        else output_error(argv)
        end
      end

      def limit_error(argv, options)
        if @raises == :timeout
          ended = result(argv, ending: :timeout, signal: SIGNALS.fetch("SIGTERM"), exit_code: nil)
          return TimeoutError.new(ended, options.fetch(:timeout, GazetteRunner.default_timeout).to_f)
        end
        OutputLimitError.new(result(argv, ending: :stdout_limit), :stdout,
                             options.fetch(:max_output, DEFAULT_MAX_OUTPUT))
      end

      def output_error(argv)
        case @raises
        when :exit_error then ExitError.new(result(argv, exit_code: @exit_code&.nonzero? || 1))
        when :empty_output then EmptyOutputError.new(result(argv))
        when :invalid_json then InvalidJsonError.new(result(argv), "stubbed invalid JSON", 1, 1, @stdout[0, 20])
        else SchemaError.new(result(argv), [SchemaError::Violation.new(pointer: "", message: "stubbed")])
        end
      end

      # A Symbol names an outcome; a class of the gem's errors becomes its outcome.
      def check_raises(raises)
        raises = Event::ERROR_OUTCOMES.fetch(raises, raises) if raises.is_a?(Class)
        return raises if raises.nil? || raises.is_a?(Exception) || Event::ERROR_OUTCOMES.value?(raises)
        return raises if raises.is_a?(Class) && raises <= Exception

        raise ArgumentError, "raises: takes one of #{Event::ERROR_OUTCOMES.values.inspect}, an exception class " \
                             "or an exception, got #{raises.inspect}"
      end

      def signal_number(signal)
        return signal if signal.nil? || signal.is_a?(Integer)

        name = signal.to_s.upcase
        SIGNALS.fetch(name.start_with?("SIG") ? name : "SIG#{name}") do
          raise ArgumentError, "unknown signal #{signal.inspect}"
        end
      end

      def progress_of(report)
        return report if report.is_a?(Progress)

        percent, message = report
        Progress.new(percent:, message:)
      end
    end
  end
end
