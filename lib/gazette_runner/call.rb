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
    # Stands for a `timeout:` the caller did not give: with a deadline, the
    # bound is then the deadline's budget alone, not default_timeout.
    NOT_GIVEN = Object.new.freeze
    # What a call without retry options retries: nothing.
    NO_RETRIES = RetryPolicy.new
    RETRY_OPTIONS = %i[retries backoff max_backoff retry_on].freeze
    CALLBACKS = %i[on_stdout on_stderr on_progress].freeze
    KNOWN = (%i[timeout kill_after deadline env clear_env chdir stdin max_output memory_limit cpu_limit
                retry_policy breaker] + RETRY_OPTIONS + CALLBACKS).to_h { |name| [name, true] }.freeze
    NO_CALLBACKS = {}.freeze
    private_constant :NOT_GIVEN, :NO_RETRIES, :RETRY_OPTIONS, :CALLBACKS, :KNOWN, :NO_CALLBACKS

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

    # @param argv [Array<String, #to_path, #to_str>]
    # @param options [Hash{Symbol=>Object}] the options of {GazetteRunner.run}
    # @raise [ArgumentError] a bad or unknown option
    def initialize(argv, options)
      @argv = Options.argv(argv)
      known_options(options)
      bound_options(options)
      spawn_options(options)
      limit_options(options)
      @retry_policy = retry_option(options)
      @callbacks = callback_options(options)
      @breaker = breaker_option(options[:breaker])
    end

    # Runs attempts until one needs no retry, and returns what the block made
    # of its result (or raises its error, which then tells how many attempts ran).
    # @yieldparam result [Result] a finished run; the block raises or converts
    # @return [Object] the block's value for the last attempt
    def perform(&)
      number = 0
      loop do
        attempt = Attempt.new(self, number += 1)
        attempt.run(&)
        next if retried?(attempt.event)
        return attempt.value unless attempt.error

        attempt.error.attempts = number if retry_policy.retries?
        raise attempt.error
      end
    end

    # The bound of an attempt starting now.
    # @return [Float] seconds > 0
    # @raise [TimeoutError] the deadline leaves too little to start
    def bound
      return (@timeout || GazetteRunner.default_timeout).to_f unless @deadline

      @deadline.bound(@timeout, kill_after, argv.first)
    end

    # Runs the program once: the native extension reads this call's options
    # through its readers, once.
    # @param bound [Float]
    # @param observer [#spawned] told the pid and the live progress once the program runs
    # @param hooks [Hash{Symbol=>#call}, nil] the output and progress callbacks, when any
    # @return [Native::Outcome]
    def execute(bound, observer, hooks) = Native.execute(self, bound, observer, hooks)

    private

    def known_options(options)
      options.each_key { |name| raise ArgumentError, "unknown keyword: #{name.inspect}" unless KNOWN[name] }
    end

    def bound_options(options)
      timeout = options.fetch(:timeout, NOT_GIVEN)
      @timeout = timeout.equal?(NOT_GIVEN) ? nil : Options.number(timeout, "timeout")
      @kill_after = Options.number(options.fetch(:kill_after, DEFAULT_KILL_AFTER), "kill_after")
      deadline = options[:deadline]
      unless deadline.nil? || deadline.is_a?(Deadline)
        raise ArgumentError, "deadline must be a GazetteRunner::Deadline, got #{deadline.inspect}"
      end

      # An enclosing `within` block still binds a call given its own deadline.
      @deadline = Deadline.earliest(deadline, Deadline.current)
    end

    def spawn_options(options)
      @spawn_env = Options.env(options[:env])
      @env_names = @spawn_env.empty? ? @spawn_env : @spawn_env.map(&:first).freeze
      @clear_env = options[:clear_env] ? true : false
      @chdir = Options.optional_string(options[:chdir], "chdir")
      @stdin = Options.stdin(options[:stdin])
    end

    def limit_options(options)
      @max_output = Options.number(options.fetch(:max_output, DEFAULT_MAX_OUTPUT), "max_output")
      @memory_limit = Options.optional_number(options[:memory_limit], "memory_limit")
      @cpu_limit = Options.optional_number(options[:cpu_limit], "cpu_limit")
    end

    def retry_option(options)
      policy = options[:retry_policy]
      return NO_RETRIES if policy.nil? && RETRY_OPTIONS.all? { |name| options[name].nil? }

      given = options.slice(*RETRY_OPTIONS).compact
      return RetryPolicy.new(**given) if policy.nil?
      raise ArgumentError, "retry_policy: replaces #{given.keys.join(", ")}; give one or the other" unless given.empty?
      raise ArgumentError, "retry_policy must be a GazetteRunner::RetryPolicy" unless policy.is_a?(RetryPolicy)

      policy
    end

    def callback_options(options)
      return NO_CALLBACKS unless CALLBACKS.any? { |name| options[name] }

      CALLBACKS.each_with_object({}) do |name, callbacks|
        next if options[name].nil?
        raise ArgumentError, "#{name} must respond to call" unless options[name].respond_to?(:call)

        callbacks[name] = options[name]
      end.freeze
    end

    def breaker_option(breaker)
      return breaker if breaker.nil? || breaker.is_a?(CircuitBreaker)

      raise ArgumentError, "breaker must be a GazetteRunner::CircuitBreaker, got #{breaker.inspect}"
    end

    # Waits before the next attempt when there is to be one.
    # @return [Boolean] true when another attempt follows
    def retried?(event)
      delay = retry_policy.delay_after(event, @deadline, kill_after)
      return false unless delay

      Instrumentation.retrying(event, delay)
      retry_policy.wait(delay)
      true
    end
  end
end
