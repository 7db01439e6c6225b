# frozen_string_literal: true

module GazetteRunner
  # One call of {GazetteRunner.run} (or run!, run_json, slice_gazette): its
  # options, all checked before anything is spawned, and the retry loop. Each
  # {Attempt} checks the deadline and the breaker, spawns and reports; between
  # attempts the {RetryPolicy} decides and waits.
  #
  # Options are read from one Hash rather than passed on as keyword splats,
  # each of which would allocate a Hash on every call.
  # @api private
  class Call
    # Stands for a `timeout:` (or another option) the caller did not give.
    NOT_GIVEN = Object.new.freeze
    private_constant :NOT_GIVEN

    # @return [Array<String>] frozen
    attr_reader :argv
    # @return [Array<String>] names of the variables `env:` sets or unsets (never their values)
    attr_reader :env_names
    # @return [Float] seconds
    attr_reader :kill_after
    # @return [Integer]
    attr_reader :max_output
    # @return [RetryPolicy]
    attr_reader :retry_policy
    # @return [CircuitBreaker, nil]
    attr_reader :breaker
    # @return [Hash{Symbol=>#call}] the caller's :on_stdout, :on_stderr and :on_progress
    attr_reader :callbacks
    # @return [Object] the checked `env:` (as name/value pairs), `clear_env:`,
    #   `chdir:`, `stdin:`, `memory_limit:` and `cpu_limit:`, which the native run reads
    attr_reader :spawn_env, :clear_env, :chdir, :stdin, :memory_limit, :cpu_limit
    # @return [Estimator, nil] where the bound comes from and the outcome goes (`estimator:`)
    attr_reader :estimator
    # @return [Numeric, nil] the input's size, for the estimator (`size:`)
    attr_reader :size

    # @param argv [Array<String, #to_path, #to_str>]
    # @param options [Hash{Symbol=>Object}] the options of {GazetteRunner.run}
    # @raise [ArgumentError] a bad or unknown option
    def initialize(argv, options)
      @argv = Options.argv(argv)
      @plain = options.empty?
      @plain ? defaults : given(options)
    end

    # True for a call with no option, no deadline of a {GazetteRunner.within}
    # block, while nothing takes reports ({Instrumentation.quiet?}): its
    # program can be run by a native plain run, which lists it and records its
    # outcome itself, with no attempt to report (see {#perform_plain}).
    # @return [Boolean]
    def plain? = @plain && @deadline.nil? && Instrumentation.quiet?

    # Runs a {#plain?} call's program once, as {#perform} would with no option.
    # @param executor [#execute_plain] a {Batch}'s task
    # @yieldparam result [Result] a finished run; the block raises or converts
    #   as `run!` does (its errors must be those the ending stands for)
    # @return [Object] the block's value
    # @raise [SpawnError, TimeoutError, OutputLimitError]
    def perform_plain(executor)
      bound = self.bound
      started = Deadline.now
      result = executor.execute_plain(self, bound)
      Attempt.raise_for_ending(result, bound, max_output, started)
      yield result
    end

    # Runs attempts until one needs no retry, and returns what the block made
    # of its result (or raises its error, which then tells how many attempts ran).
    # @param executor [#execute, #pause] runs each attempt's program and waits
    #   between attempts: {Direct} on the calling thread, or a {Batch}'s task
    # @yieldparam result [Result] a finished run; the block raises or converts
    # @return [Object] the block's value for the last attempt
    def perform(executor = Direct, &)
      @executor = executor
      number = 0
      loop do
        attempt = Attempt.new(self, number += 1)
        attempt.run(&)
        next if retry_policy.retries? && retried?(attempt.event)
        return attempt.value unless attempt.error

        attempt.error.attempts = number if retry_policy.retries?
        raise attempt.error
      end
    end

    # The bound of an attempt starting now.
    # @return [Float] seconds > 0
    # @raise [TimeoutError] the deadline leaves too little to start
    def bound
      # A learned bound, capped by `timeout:` when both are given.
      timeout = @estimator ? [@estimator.bound(size: @size), @timeout].compact.min : @timeout
      return (timeout || GazetteRunner.default_timeout).to_f unless @deadline

      @deadline.bound(timeout, kill_after, Redaction.program(argv))
    end

    # Runs the program once: the native extension reads this call's options
    # through its readers, once.
    # @param bound [Float]
    # @param observer [#spawned] told the pid and the live progress once the program runs
    # @param hooks [Hash{Symbol=>#call}, nil] the output and progress callbacks, when any
    # @return [Result]
    def execute(bound, observer, hooks) = @executor.execute(self, bound, observer, hooks)

    # Runs a call's attempts on the calling thread, one at a time.
    module Direct
      # @param call [Call]
      # @param bound [Float]
      # @param observer [#spawned, nil]
      # @param hooks [Hash{Symbol=>#call}, nil]
      # @return [Result] (see Native.execute)
      def self.execute(call, bound, observer, hooks) = Native.execute(call, bound, observer, hooks)

      # @param seconds [Float]
      # @param retry_policy [RetryPolicy]
      # @return [void]
      def self.pause(seconds, retry_policy) = retry_policy.wait(seconds)
    end

    private

    # The same settings as the option readers below give for `{}`, assigned
    # directly. A plain `run(argv)` is the common call, and after the previous
    # call's wait its code runs with cold caches, where every method skipped
    # saves microseconds (bench row 1c).
    def defaults
      @timeout = nil
      @kill_after = DEFAULT_KILL_AFTER.to_f
      @deadline = Deadline.current
      @spawn_env = @env_names = Options::NO_ENV
      @clear_env = false
      @chdir = @stdin = @memory_limit = @cpu_limit = @breaker = nil
      @max_output = DEFAULT_MAX_OUTPUT
      @retry_policy = CallOptions::NO_RETRIES
      @callbacks = CallOptions::NO_CALLBACKS
    end

    # Every option checked, before anything is spawned.
    def given(options)
      CallOptions.known!(options)
      bound_options(options)
      spawn_options(options)
      limit_options(options)
      @retry_policy = CallOptions.retry_policy(options)
      @callbacks = CallOptions.callbacks(options)
      @breaker = CallOptions.breaker(options[:breaker])
      @estimator, @size = Estimator.option(options[:estimator], options[:size]) if options[:estimator] || options[:size]
    end

    # Defaults are read without checking: they were checked when set.
    def bound_options(options)
      timeout = options.fetch(:timeout, NOT_GIVEN)
      @timeout = timeout.equal?(NOT_GIVEN) ? nil : Options.number(timeout, "timeout")
      kill_after = options.fetch(:kill_after, NOT_GIVEN)
      @kill_after = kill_after.equal?(NOT_GIVEN) ? DEFAULT_KILL_AFTER.to_f : Options.number(kill_after, "kill_after")
      @deadline = CallOptions.deadline(options[:deadline])
    end

    def spawn_options(options)
      @spawn_env = Options.env(options[:env])
      @env_names = @spawn_env.empty? ? @spawn_env : @spawn_env.map(&:first).freeze
      @clear_env = options[:clear_env] ? true : false
      @chdir = Options.optional_string(options[:chdir], "chdir")
      @stdin = Options.stdin(options[:stdin])
    end

    def limit_options(options)
      max_output = options.fetch(:max_output, NOT_GIVEN)
      @max_output = max_output.equal?(NOT_GIVEN) ? DEFAULT_MAX_OUTPUT : Options.number(max_output, "max_output")
      @memory_limit = Options.optional_number(options[:memory_limit], "memory_limit")
      @cpu_limit = Options.optional_number(options[:cpu_limit], "cpu_limit")
    end

    # Waits before the next attempt when there is to be one.
    # @return [Boolean] true when another attempt follows
    def retried?(event)
      delay = retry_policy.delay_after(event, @deadline, kill_after)
      return false unless delay

      Instrumentation.retrying(event, delay)
      @executor.pause(delay, retry_policy)
      true
    end
  end
end
