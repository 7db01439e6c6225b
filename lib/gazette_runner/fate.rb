# frozen_string_literal: true

module GazetteRunner
  # What happened to one command of {GazetteRunner.run_all}. Frozen.
  #
  #   rescue GazetteRunner::BatchError => e
  #     e.fates.each do |fate|
  #       case fate.state
  #       when :succeeded then keep(fate.result)
  #       when :failed then log(fate.error.message)
  #       end
  #     end
  class Fate
    # Every state a command can end in.
    STATES = %i[succeeded failed cancelled not_started].freeze

    # @return [Integer] the command's place in the input, from 0
    attr_reader :index
    # @return [Array<String>] the command's argv
    attr_reader :argv
    # @return [Symbol] one of {STATES}
    attr_reader :state
    # @return [Result, nil] the successful run; for a failed or cancelled
    #   command, what its error knew (partial output), when a program ran
    attr_reader :result
    # @return [Exception, nil] why it failed (what {GazetteRunner.run!} would
    #   have raised) or a {CancelledError}; nil when it succeeded or never started
    attr_reader :error

    # @param index [Integer]
    # @param argv [Array<String>]
    # @param state [Symbol] one of {STATES}
    # @param result [Result, nil]
    # @param error [Exception, nil]
    def initialize(index:, argv:, state:, result: nil, error: nil)
      raise ArgumentError, "state must be one of #{STATES.inspect}, got #{state.inspect}" unless STATES.include?(state)

      @index = index
      @argv = argv
      @state = state
      @result = result || (error.respond_to?(:result) ? error.result : nil)
      @error = error
      freeze
    end

    # @return [Boolean] the program ran and succeeded
    def succeeded? = state == :succeeded
    # @return [Boolean] it failed: what {GazetteRunner.run!} would have raised is {#error}
    def failed? = state == :failed
    # @return [Boolean] it was ended, or not retried, because another command failed first
    def cancelled? = state == :cancelled
    # @return [Boolean] it never started (another command failed first)
    def not_started? = state == :not_started

    # @return [String]
    def inspect
      "#<#{self.class.name} #{index} #{Redaction.program(argv)} #{state}#{" #{error.class}" if error}>"
    end
  end
end
