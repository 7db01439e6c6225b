# frozen_string_literal: true

module GazetteRunner
  # What one attempt to run a program did, handed to {GazetteRunner.subscribe}
  # subscribers and (as {#to_h}) to ActiveSupport::Notifications subscribers of
  # {NAME}. An attempt is one spawn: a call with `retries:` makes several. Frozen.
  class Event
    # The ActiveSupport::Notifications event name.
    NAME = "run.gazette_runner"

    # Every outcome, in the order of docs/reference.md's table. An outcome says what
    # happened to the program, whether or not the method raised: a plain
    # {GazetteRunner.run} whose program exits 1 is `:exit_error`.
    OUTCOMES = %i[
      ok exit_error timeout output_limit spawn_error empty_output invalid_json
      schema_error circuit_open internal_error interrupted callback_error
    ].freeze

    # Outcomes that say nothing about the program (the caller was interrupted,
    # or its own callback raised): a breaker counts them neither way, and the
    # success rate leaves them out.
    NEUTRAL = %i[interrupted callback_error].freeze

    # Outcomes that count as the program failing: all but :ok and {NEUTRAL}.
    FAILURES = (OUTCOMES - [:ok] - NEUTRAL).freeze

    # The outcome that each error class stands for; anything else that ends a
    # call (Thread#raise, Timeout.timeout, Sidekiq's shutdown) is :interrupted.
    ERROR_OUTCOMES = {
      ExitError => :exit_error, TimeoutError => :timeout, OutputLimitError => :output_limit,
      SpawnError => :spawn_error, EmptyOutputError => :empty_output, InvalidJsonError => :invalid_json,
      SchemaError => :schema_error, CircuitOpenError => :circuit_open, InternalError => :internal_error
    }.freeze

    # The outcome each way a run can end, besides running to its exit
    # (`Result#ending` :natural, which is :ok or :exit_error).
    ENDING_OUTCOMES = {
      timeout: :timeout, stdout_limit: :output_limit, stderr_limit: :output_limit,
      spawn_error: :spawn_error, interrupted: :interrupted, internal_error: :internal_error
    }.freeze

    # The attributes, in {#to_h}'s order.
    FIELDS = %i[
      outcome argv pid exit_code signal duration stdout_bytes stderr_bytes max_rss
      progress attempt max_attempts bound breaker job error result
    ].freeze

    # @return [Symbol] one of {OUTCOMES}
    attr_reader :outcome
    # @return [Integer, nil] the program's pid; nil when none was started
    attr_reader :pid
    # @return [Integer, nil]
    attr_reader :exit_code
    # @return [Integer, nil] the signal that ended the program
    attr_reader :signal
    # @return [Float] seconds the attempt took, from the deadline's check to its report
    attr_reader :duration
    # @return [Integer, nil] bytes on stdout (nil when no result came back)
    attr_reader :stdout_bytes
    # @return [Integer, nil] bytes on stderr
    attr_reader :stderr_bytes
    # @return [Integer, nil] peak resident memory in bytes
    attr_reader :max_rss
    # @return [Progress, nil] the latest progress report
    attr_reader :progress
    # @return [Integer] this attempt's number, from 1
    attr_reader :attempt
    # @return [Integer] the most attempts the call could make
    attr_reader :max_attempts
    # @return [Float, nil] the bound this attempt ran under, in seconds
    attr_reader :bound
    # @return [String, nil] the circuit breaker's name
    attr_reader :breaker
    # @return [Hash{Symbol=>String}] the job the attempt ran in ({JobContext.current}
    #   on the calling fiber: `job_class`, `job_id`, `jid`, `queue`); empty outside a job
    attr_reader :job
    # @return [Exception, nil] what the attempt raised, if anything
    attr_reader :error
    # @return [Result, nil] what the program produced, when it ran to a result
    attr_reader :result

    # @param ending [Symbol] a `Result#ending`, or :spawn_error, :interrupted
    #   or :internal_error for a run that came to no Result
    # @param exited_zero [Boolean] whether the program exited with code 0
    # @return [Symbol] the outcome a run that ended so stands for
    def self.outcome_of_ending(ending, exited_zero)
      return exited_zero ? :ok : :exit_error if ending == :natural

      ENDING_OUTCOMES.fetch(ending)
    end

    # @param error [Exception] what ended an attempt
    # @return [Symbol] the outcome it stands for (:interrupted for anything not raised by this gem)
    def self.outcome_of(error)
      ERROR_OUTCOMES.each { |klass, outcome| return outcome if error.is_a?(klass) }
      :interrupted
    end

    # @api private
    # @param outcome [Symbol]
    # @param argv [Array<String>]
    # @param duration [Float]
    # @param pid [Integer, nil]
    # @param progress [Progress, nil]
    # @param attempt [Integer]
    # @param max_attempts [Integer]
    # @param bound [Float, nil]
    # @param breaker [String, nil]
    # @param error [Exception, nil]
    # @param result [Result, nil] exit code, signal, byte counts and max_rss are read from it
    # @param job [Hash{Symbol=>String}] the job's ids; by default the calling fiber's
    def initialize(outcome:, argv:, duration:, pid: nil, progress: nil, attempt: 1, max_attempts: 1, # rubocop:disable Metrics/ParameterLists
                   bound: nil, breaker: nil, error: nil, result: nil, job: JobContext.current)
      assign(outcome, argv, duration, pid, progress, attempt, max_attempts, bound, breaker, error, result, job)
    end

    # The same as {#initialize} with positional arguments, so reporting an
    # attempt allocates no keyword Hash.
    # @api private
    # @return [Event]
    def self.of_attempt(outcome, argv, duration, pid, progress, attempt, max_attempts, bound, breaker, error, result, # rubocop:disable Metrics/ParameterLists
                        job)
      allocate.tap do |event|
        event.__send__(:assign, outcome, argv, duration, pid, progress, attempt, max_attempts, bound, breaker, error,
                       result, job)
      end
    end

    # @return [String] {NAME}
    def name = NAME

    # The program and its arguments as they may leave the process: secrets
    # hidden by {Redaction.argv} (env values never appear in events). The
    # {#result} still holds the argv that ran, for the caller's own use.
    # @return [Array<String>]
    def argv = Redaction.argv(@argv)

    # @return [String] the program alone, redacted like {#argv}
    def program = Redaction.program(@argv)

    # @return [Boolean] true when the outcome is :ok
    def ok? = outcome == :ok

    # @return [Hash{Symbol=>Object}] every attribute, by name (the ActiveSupport payload)
    def to_h = FIELDS.to_h { |name| [name, public_send(name)] }

    # @return [String]
    def inspect
      "#<#{self.class.name} #{outcome} #{program} pid=#{pid.inspect} attempt=#{attempt}/#{max_attempts} " \
        "duration=#{format("%.3f", duration)}s>"
    end

    private

    def assign(outcome, argv, duration, pid, progress, attempt, max_attempts, bound, breaker, error, result, job) # rubocop:disable Metrics/ParameterLists
      @outcome = outcome
      @argv = argv
      @duration = duration
      @pid = pid
      @progress = progress
      @attempt = attempt
      @max_attempts = max_attempts
      @bound = bound
      @breaker = breaker
      @job = job
      @error = error
      @result = result
      read_result if result
      freeze
    end

    def read_result
      @exit_code = @result.exit_code
      @signal = @result.signal
      @stdout_bytes = @result.stdout.bytesize
      @stderr_bytes = @result.stderr.bytesize
      @max_rss = @result.max_rss
    end
  end
end
