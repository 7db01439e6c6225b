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
  # The state is kept per name, shared by every thread and every
  # CircuitBreaker object of that name in this process (the latest object's
  # threshold and cool_off apply). Each process has its own: a fleet of N
  # Sidekiq processes makes up to N × threshold failing calls before every
  # process has opened, and sends up to N probes per cool-off. A forked child
  # starts with its parent's states, minus any probe in flight (that probe
  # runs in the parent).
  #
  # At most {Caps::BREAKER_NAMES} names are kept, each at most
  # {Caps::BREAKER_NAME} bytes; past that the least recently used closed
  # breaker is forgotten (an open one never is), so names made up at run time
  # cannot grow the table without bound. Name breakers after programs, not data.
  #
  # A failure is any outcome but `:ok` (see {GazetteRunner.subscribe}) —
  # including a plain {GazetteRunner.run} whose program exits non-zero —
  # except `:interrupted` and `:callback_error`, which say nothing about the
  # program and count neither way (an interrupted probe counts as failed, so
  # the breaker stays open rather than closing on no evidence). Frozen.
  class CircuitBreaker
    # @return [String]
    attr_reader :name
    # @return [Integer] consecutive failures that open the breaker
    attr_reader :threshold
    # @return [Float] seconds the breaker stays open before it lets a probe through
    attr_reader :cool_off

    # @param name [String] breakers with the same name share one state
    # @param threshold [Integer] consecutive failures that open it (1 to 1,000,000)
    # @param cool_off [Numeric] seconds before a probe is let through (1 ms to a year)
    # @raise [ArgumentError] an empty name or a value out of range
    def initialize(name, threshold: 5, cool_off: 60)
      @name = Options.string(name.is_a?(Symbol) ? name.to_s : name, "breaker name").dup.freeze
      raise ArgumentError, "a breaker needs a name" if @name.empty?
      if @name.bytesize > Caps::BREAKER_NAME
        raise ArgumentError, "a breaker's name must be at most #{Caps::BREAKER_NAME} bytes"
      end

      @threshold = Options.number(threshold, "threshold")
      @cool_off = Options.number(cool_off, "cool_off")
      freeze
    end

    # @return [Array<String>] the names of the breakers this process keeps
    def self.names = Table.names

    # @return [Symbol] :closed, :open or :half_open (a probe is running)
    def state = Table.with(self, &:state)

    # @return [Integer] consecutive failures counted so far
    def failures = Table.with(self, &:failures)

    # @return [Float] seconds until an open breaker lets a probe through (0 when not open)
    def retry_in = Table.with(self) { |breaker| breaker.retry_in(Deadline.now) }

    # @return [Boolean]
    def closed? = state == :closed

    # @return [Boolean]
    def open? = state == :open

    # @return [Boolean]
    def half_open? = state == :half_open

    # Closes the breaker and forgets its failures (for tests and operators).
    # @return [self]
    def reset
      Table.with(self, &:reset)
      self
    end

    # Asks whether a call may start.
    # @api private
    # @param program [String] for the error message
    # @return [Symbol] :allowed, or :probe when this call is the half-open probe
    #   (it must then be followed by exactly one {#record} with probe: true)
    # @raise [CircuitOpenError] the breaker is open
    def admit(program)
      verdict, retry_in = Table.with(self, configure: true) { |breaker| breaker.admit(Deadline.now) }
      raise CircuitOpenError.new(name, retry_in, program) if verdict == :open

      verdict
    end

    # @api private
    # @param success [Boolean]
    # @param probe [Boolean] true when {#admit} answered :probe
    # @return [void]
    def record(success, probe:)
      Table.with(self) { |breaker| breaker.record(success, probe, Deadline.now) }
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
      "#<#{self.class.name} #{name.inspect} #{state} failures=#{failures}/#{threshold} " \
        "retry_in=#{format("%.3g", retry_in)}s>"
    end

    # One name's state; only touched under {Table}'s lock.
    # @api private
    class State
      # @return [Integer]
      attr_reader :failures
      # @return [Integer]
      attr_accessor :threshold
      # @return [Float]
      attr_accessor :cool_off

      # @param threshold [Integer]
      # @param cool_off [Float]
      def initialize(threshold, cool_off)
        @threshold = threshold
        @cool_off = cool_off
        reset
      end

      # @return [void]
      def reset
        @failures = 0
        @opened_at = nil
        @probing = false
      end

      # The copy a forked child keeps: the parent's probe is not the child's.
      # @return [State]
      def for_forked_child = dup.tap { |copy| copy.instance_variable_set(:@probing, false) }

      # @return [Symbol]
      def state
        return :closed unless @opened_at

        @probing ? :half_open : :open
      end

      # @param now [Float] monotonic seconds
      # @return [Float]
      def retry_in(now) = @opened_at ? [@opened_at + cool_off - now, 0.0].max : 0.0

      # @param now [Float]
      # @return [Array(Symbol, Float)] :allowed, :probe or :open, and the seconds to the next probe
      def admit(now)
        return [:allowed, 0.0] unless @opened_at

        wait = retry_in(now)
        return [:open, wait] if @probing || wait.positive?

        @probing = true
        [:probe, 0.0]
      end

      # @param success [Boolean]
      # @param probe [Boolean]
      # @param now [Float]
      # @return [void]
      def record(success, probe, now)
        if probe
          @probing = false
        elsif @opened_at
          return # a call admitted before the breaker opened says nothing new
        end
        return reset if success

        @failures += 1
        @opened_at = now if probe || @failures >= threshold
      end
    end

    # The states of this process, by name. A forked child replaces the
    # table (and its lock) with copies on first use.
    # @api private
    module Table
      @pid = Process.pid
      @lock = Mutex.new
      @states = {}

      class << self
        # Yields the state of `breaker`'s name under the lock, creating it (and
        # with `configure:`, taking the breaker's threshold and cool_off).
        # @param breaker [CircuitBreaker]
        # @param configure [Boolean]
        # @yieldparam state [State]
        # @return [Object] the block's value
        def with(breaker, configure: false)
          renew_after_fork
          @lock.synchronize do
            state = fetch(breaker)
            if configure
              state.threshold = breaker.threshold
              state.cool_off = breaker.cool_off
            end
            yield state
          end
        end

        # @return [Array<String>]
        def names
          renew_after_fork
          @lock.synchronize { @states.keys }
        end

        private

        # Least recently used first: each use moves a name to the end.
        def fetch(breaker)
          state = @states.delete(breaker.name) || State.new(breaker.threshold, breaker.cool_off)
          @states[breaker.name] = state
          forget_one if @states.size > Caps::BREAKER_NAMES
          state
        end

        def forget_one
          name, = @states.find { |_, state| state.state == :closed }
          @states.delete(name) if name
        end

        def renew_after_fork
          return if @pid == Process.pid

          @states = @states.transform_values(&:for_forked_child)
          @lock = Mutex.new
          @pid = Process.pid
        end
      end
    end
    private_constant :State, :Table
  end
end
