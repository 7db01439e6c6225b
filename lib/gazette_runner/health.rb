# frozen_string_literal: true

module GazetteRunner
  # The answer of {GazetteRunner.health}: whether a program ran and exited 0
  # within its bound (and printed what `expect:` asks), and if not, why — for a
  # boot check or a periodic job that checks the scripts a worker depends on.
  # Frozen.
  class Health
    # @return [Symbol] what happened to the program (see {Event::OUTCOMES})
    attr_reader :outcome
    # @return [String] why it is healthy or not, for a log line or a status page
    attr_reader :reason
    # @return [Result, nil] the run, when one finished
    attr_reader :result
    # @return [GazetteRunner::Error, nil] the error the run raised, if any
    attr_reader :error

    # @param healthy [Boolean]
    # @param outcome [Symbol]
    # @param reason [String]
    # @param result [Result, nil]
    # @param error [GazetteRunner::Error, nil]
    def initialize(healthy:, outcome:, reason:, result: nil, error: nil)
      @healthy = healthy
      @outcome = outcome
      @reason = reason.dup.freeze
      @result = result
      @error = error
      freeze
    end

    # Runs the check: see {GazetteRunner.health}.
    # @param argv [Array<String>]
    # @param expect [Regexp, String, nil] stdout must match it (a String must appear in it)
    # @param options [Hash] any option of {GazetteRunner.run}
    # @return [Health]
    # @raise [ArgumentError] bad arguments
    def self.check(argv, expect: nil, **options)
      unless expect.nil? || expect.is_a?(Regexp) || expect.is_a?(String)
        raise ArgumentError, "expect must be a Regexp or a String, got #{expect.inspect}"
      end

      judge(GazetteRunner.run(argv, **options), expect)
    rescue Error => e
      new(healthy: false, outcome: Event.outcome_of(e), reason: e.message, result: e.result, error: e)
    end

    # @api private
    # @param result [Result]
    # @param expect [Regexp, String, nil]
    # @return [Health]
    def self.judge(result, expect)
      unless result.success?
        return new(healthy: false, outcome: :exit_error, reason: ExitError.new(result).message, result:)
      end

      took = "#{Redaction.program(result.argv)} exited 0 in #{format("%.3g", result.duration)} s"
      return new(healthy: true, outcome: :ok, reason: took, result:) if matches?(result.stdout, expect)

      new(healthy: false, outcome: :ok, reason: "#{took}, but its stdout does not match #{expect.inspect}", result:)
    end

    # Never raises: output that is not valid in its encoding is matched with
    # its invalid bytes replaced, and an `expect:` whose encoding cannot be
    # compared with the output's does not match.
    # @api private
    # @param stdout [String]
    # @param expect [Regexp, String, nil]
    # @return [Boolean]
    def self.matches?(stdout, expect)
      return true if expect.nil?

      text = stdout.valid_encoding? ? stdout : stdout.scrub
      expect.is_a?(Regexp) ? expect.match?(text) : text.include?(expect)
    rescue EncodingError, ArgumentError
      false
    end

    # @return [Boolean] true when the program exited 0 (and matched `expect:`)
    def healthy? = @healthy

    # @return [Hash{Symbol=>Object}] `{healthy:, outcome:, reason:}`, ready for JSON
    def to_h = { healthy: healthy?, outcome:, reason: }

    # @return [String]
    def inspect = "#<#{self.class.name} #{healthy? ? "healthy" : "unhealthy"} #{outcome}: #{reason}>"
  end
end
