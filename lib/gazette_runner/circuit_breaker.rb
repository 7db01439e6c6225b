# frozen_string_literal: true

module GazetteRunner
  # Stops calling a program that keeps failing. Passed as `breaker:`:
  #
  #   SLICER = GazetteRunner::CircuitBreaker.new("slicer", threshold: 5, cool_off: 60)
  #   GazetteRunner.run_json(argv, breaker: SLICER)
  #
  # After `threshold` consecutive failed calls the breaker opens, and calls
  # raise {CircuitOpenError} at once, starting nothing. Once `cool_off`
  # seconds have passed, one call is let through as a probe (half-open; the
  # others keep raising): its success closes the breaker, its failure opens it
  # for another `cool_off`.
  #
  # The state lives in the native extension, keyed by name, shared by every
  # thread and every CircuitBreaker object of that name in this process (the
  # latest object's threshold and cool_off apply). Each process has its own:
  # a fleet of N Sidekiq processes makes up to N × threshold failing calls
  # before every process has opened, and sends up to N probes per cool-off.
  #
  # A failure is any outcome but `:ok` (see {GazetteRunner.subscribe}) —
  # including a plain {GazetteRunner.run} whose program exits non-zero —
  # except `:interrupted` and `:callback_error`, which say nothing about the
  # program and count neither way (an interrupted probe counts as failed, so
  # the breaker stays open rather than closing on no evidence).
  #
  # The native table keeps one small entry per name for the life of the
  # process, so names must come from code, not from data: a process may use
  # at most {Caps::BREAKER_NAMES} distinct names of at most
  # {Caps::BREAKER_NAME} bytes each. Frozen.
  class CircuitBreaker
    @names = {}
    @names_lock = Mutex.new

    # @return [String]
    attr_reader :name
    # @return [Integer] consecutive failures that open the breaker
    attr_reader :threshold
    # @return [Float] seconds the breaker stays open before it lets a probe through
    attr_reader :cool_off

    # @param name [String] breakers with the same name share one state
    # @param threshold [Integer] consecutive failures that open it (> 0)
    # @param cool_off [Numeric] seconds before a probe is let through (> 0)
    # @raise [ArgumentError] an empty name or a value out of range
    def initialize(name, threshold: 5, cool_off: 60)
      @name = Options.string(name.is_a?(Symbol) ? name.to_s : name, "breaker name").dup.freeze
      raise ArgumentError, "a breaker needs a name" if @name.empty?

      if @name.bytesize > Caps::BREAKER_NAME
        raise ArgumentError, "a breaker's name must be at most #{Caps::BREAKER_NAME} bytes"
      end

      CircuitBreaker.named(@name)

      @threshold = Options.positive_integer(threshold, "threshold", optional: false)
      @cool_off = Options.seconds(cool_off, "cool_off")
      freeze
    end

    # @return [Symbol] :closed, :open or :half_open (a probe is running)
    def state = Native.breaker_snapshot(name)[0]

    # @return [Integer] consecutive failures counted so far
    def failures = Native.breaker_snapshot(name)[1]

    # @return [Float] seconds until an open breaker lets a probe through (0 when not open)
    def retry_in = Native.breaker_snapshot(name)[2]

    # @return [Boolean]
    def closed? = state == :closed

    # @return [Boolean]
    def open? = state == :open

    # @return [Boolean]
    def half_open? = state == :half_open

    # Closes the breaker and forgets its failures (for tests and operators).
    # @return [self]
    def reset
      Native.breaker_reset(name)
      self
    end

    # Asks whether a call may start.
    # @api private
    # @param program [String] for the error message
    # @return [Symbol] :allowed, or :probe when this call is the half-open probe
    #   (it must then be followed by exactly one {#record} with probe: true)
    # @raise [CircuitOpenError] the breaker is open
    def admit(program)
      verdict, retry_in = Native.breaker_admit(name, threshold, cool_off)
      raise CircuitOpenError.new(name, retry_in, program) if verdict == :open

      verdict
    end

    # @api private
    # @param success [Boolean]
    # @param probe [Boolean] true when {#admit} answered :probe
    # @return [void]
    def record(success, probe:)
      Native.breaker_record(name, success ? true : false, probe ? true : false)
    end

    # Counts a name towards {Caps::BREAKER_NAMES}.
    # @api private
    # @param name [String]
    # @return [void]
    # @raise [ArgumentError] the name would be one too many
    def self.named(name)
      return if @names.key?(name)

      @names_lock.synchronize do
        if !@names.key?(name) && @names.size >= Caps::BREAKER_NAMES
          raise ArgumentError, "more than #{Caps::BREAKER_NAMES} circuit breaker names in one process: " \
                               "name breakers after programs, not after data"
        end

        @names[name] = true
      end
    end

    # @return [String]
    def inspect
      state, failures, retry_in = Native.breaker_snapshot(name)
      "#<#{self.class.name} #{name.inspect} #{state} failures=#{failures}/#{threshold} " \
        "retry_in=#{format("%.3g", retry_in)}s>"
    end
  end
end
