# frozen_string_literal: true

module GazetteRunner
  # The options of {GazetteRunner.run} that are more than one checked value:
  # the retry policy, the callbacks, the breaker, the deadline. Each answer
  # is frozen or shared; every problem is an `ArgumentError` before anything
  # is spawned. ({Options} checks the single values.)
  # @api private
  module CallOptions
    # What a call without retry options retries: nothing.
    NO_RETRIES = RetryPolicy.new
    # The options that make a {RetryPolicy} when no `retry_policy:` is given.
    RETRY_OPTIONS = %i[retries backoff max_backoff retry_on].freeze
    # The callables a run calls as it goes.
    CALLBACKS = %i[on_stdout on_stderr on_progress].freeze
    # What a call without callbacks has (shared, frozen).
    NO_CALLBACKS = {}.freeze
    # Every option {GazetteRunner.run} takes.
    KNOWN = (%i[timeout kill_after deadline env clear_env chdir stdin max_output memory_limit cpu_limit
                retry_policy breaker estimator size] + RETRY_OPTIONS + CALLBACKS).to_h { |name| [name, true] }.freeze

    module_function

    # @param options [Hash{Symbol=>Object}]
    # @return [void]
    # @raise [ArgumentError] an option {GazetteRunner.run} does not take
    def known!(options)
      options.each_key { |name| raise ArgumentError, "unknown keyword: #{name.inspect}" unless KNOWN[name] }
    end

    # @param options [Hash{Symbol=>Object}]
    # @return [RetryPolicy]
    def retry_policy(options)
      policy = options[:retry_policy]
      return NO_RETRIES if policy.nil? && RETRY_OPTIONS.none? { |name| options[name] }

      given = options.slice(*RETRY_OPTIONS).compact
      return RetryPolicy.new(**given) if policy.nil?
      raise ArgumentError, "retry_policy: replaces #{given.keys.join(", ")}; give one or the other" unless given.empty?
      raise ArgumentError, "retry_policy must be a GazetteRunner::RetryPolicy" unless policy.is_a?(RetryPolicy)

      policy
    end

    # @param options [Hash{Symbol=>Object}]
    # @return [Hash{Symbol=>#call}] frozen
    def callbacks(options)
      return NO_CALLBACKS unless CALLBACKS.any? { |name| options[name] }

      CALLBACKS.each_with_object({}) do |name, callbacks|
        next if options[name].nil?
        raise ArgumentError, "#{name} must respond to call" unless options[name].respond_to?(:call)

        callbacks[name] = options[name]
      end.freeze
    end

    # @param breaker [Object]
    # @return [CircuitBreaker, nil]
    def breaker(breaker)
      return breaker if breaker.nil? || breaker.is_a?(CircuitBreaker)

      raise ArgumentError, "breaker must be a GazetteRunner::CircuitBreaker, got #{breaker.inspect}"
    end

    # The call's deadline: its own, or an enclosing {GazetteRunner.within}
    # block's, whichever is earlier (a `within` block still binds a call given
    # its own deadline).
    # @param deadline [Object]
    # @return [Deadline, nil]
    def deadline(deadline)
      unless deadline.nil? || deadline.is_a?(Deadline)
        raise ArgumentError, "deadline must be a GazetteRunner::Deadline, got #{deadline.inspect}"
      end

      Deadline.earliest(deadline, Deadline.current)
    end
  end
end
