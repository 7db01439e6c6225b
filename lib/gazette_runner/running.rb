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

      # A child as the native run lists it, built without {#initialize}'s
      # keyword Hash and with no Time until one is asked for.
      # @api private
      # @param row [Array] `[pid, argv, started (Unix time), bound, live_progress, thread]`
      # @return [Child]
      def self.listed(row)
        # `assign` returns the frozen Child.
        allocate.__send__(:assign, *row)
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

    # The native runs list their programs from spawn to reap themselves
    # (ext/gazette_runner/src/running.rs): a run adds no Ruby call for it.
    # @return [Array<Child>] oldest first
    def self.all = Native.running.map { |row| Child.listed(row) }.sort_by { |child| -child.elapsed }
  end
end
