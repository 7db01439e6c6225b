# frozen_string_literal: true

module GazetteRunner
  # The programs this process is running right now, for a status page or a
  # stuck-job investigation: `GazetteRunner.running`. Entries appear when a
  # program has been spawned and go when it has been reaped.
  module Running
    # One running program. Frozen; its progress is read from the native run when asked.
    class Child
      # @return [Integer] the program's pid (also its process-group id)
      attr_reader :pid
      # @return [Array<String>] the program and its arguments
      attr_reader :argv
      # @return [Float] its bound in seconds (see {GazetteRunner::Deadline})
      attr_reader :bound
      # @return [Thread] the thread waiting for it
      attr_reader :thread

      # @param pid [Integer]
      # @param argv [Array<String>]
      # @param started_at [Time]
      # @param bound [Float]
      # @param live_progress [#latest, nil] where the latest report is kept (the native run)
      # @param thread [Thread]
      def initialize(pid:, argv:, started_at:, bound:, live_progress: nil, thread: Thread.current) # rubocop:disable Metrics/ParameterLists
        assign(pid, argv, started_at.to_f, bound, live_progress, thread)
      end

      # A child just spawned by this thread, built without {#initialize}'s
      # keyword Hash and with no Time until one is asked for.
      # @api private
      # @return [Child]
      def self.spawned(pid, argv, bound, live_progress)
        # `assign` returns the frozen Child.
        allocate.__send__(:assign, pid, argv, Process.clock_gettime(Process::CLOCK_REALTIME), bound, live_progress,
                          Thread.current)
      end

      # @return [Time] when it was spawned
      def started_at = Time.at(@started)

      # @return [Progress, nil] the latest progress report it wrote on stderr
      def progress = Progress.from_native(@live_progress&.latest)

      # @return [Float] seconds since it was spawned
      def elapsed = Process.clock_gettime(Process::CLOCK_REALTIME) - @started

      # @return [Hash{Symbol=>Object}]
      def to_h = { pid:, argv:, started_at:, bound:, progress: }

      private

      def assign(pid, argv, started, bound, live_progress, thread) # rubocop:disable Metrics/ParameterLists
        @pid = pid
        @argv = argv
        @started = started
        @bound = bound
        @live_progress = live_progress
        @thread = thread
        freeze
      end

      public

      # @return [String]
      def inspect
        "#<#{self.class.name} pid=#{pid} #{Redaction.program(argv)} elapsed=#{format("%.1f", elapsed)}s " \
          "bound=#{format("%.3g", bound)}s progress=#{progress.inspect}>"
      end
    end

    LOCK = Mutex.new
    private_constant :LOCK
    # Keyed by the attempt that runs the program, which is unique even when a
    # pid is reused at once.
    @children = {}.compare_by_identity

    class << self
      # @return [Array<Child>] oldest first
      def all = LOCK.synchronize { @children.values }.sort_by { |child| -child.elapsed }

      # @api private
      # @param key [Object] the attempt running it
      # @param pid [Integer]
      # @param argv [Array<String>] frozen
      # @param bound [Float]
      # @param live_progress [#latest] the native run's latest progress report
      # @return [void]
      def add(key, pid, argv, bound, live_progress)
        child = Child.spawned(pid, argv, bound, live_progress)
        LOCK.synchronize { @children[key] = child }
      end

      # @api private
      # @param key [Object]
      # @return [void]
      def remove(key)
        LOCK.synchronize { @children.delete(key) }
      end
    end
  end
end
