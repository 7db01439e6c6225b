# frozen_string_literal: true

module GazetteRunner
  # What one run produced. Frozen; its strings are frozen too.
  class Result
    # How many bytes of stderr {#stderr_tail} and error messages show ({Caps::STDERR_TAIL}).
    TAIL_BYTES = Caps::STDERR_TAIL

    # @return [Array<String>] the argv that ran
    attr_reader :argv
    # @return [Integer] the program's pid (also its process-group id)
    attr_reader :pid
    # @return [Integer, nil] the exit code; nil when a signal ended it or the status is unknown
    attr_reader :exit_code
    # @return [Integer, nil] the number of the signal that ended it
    attr_reader :signal
    # @return [String] standard output, in `Encoding.default_external` (like Open3)
    attr_reader :stdout
    # @return [String] standard error, in `Encoding.default_external`
    attr_reader :stderr
    # @return [Float] seconds from spawn to reap
    attr_reader :duration
    # @return [Integer, nil] the program's peak resident memory in bytes
    attr_reader :max_rss
    # @return [Symbol] why the run ended: :natural, :timeout, :stdout_limit,
    #   :stderr_limit or :interrupted
    attr_reader :ending
    # @return [Progress, nil] the latest progress line the program wrote on stderr
    attr_reader :progress
    # @return [Float, nil] seconds from spawn to the SIGTERM that began ending the group, if any
    attr_reader :terminated_at
    # @return [Float, nil] seconds from spawn to the SIGKILL, if one was needed
    attr_reader :killed_at

    # A Result of your own, e.g. for a stub in tests (see `gazette_runner/testing`).
    def initialize(argv:, pid:, exit_code:, signal:, stdout:, stderr:, duration:, max_rss:, ending:, # rubocop:disable Metrics/ParameterLists
                   killed_leftovers: false, abandoned: false, progress: nil, terminated_at: nil, killed_at: nil)
      frozen = argv.frozen? && argv.all?(&:frozen?) ? argv : argv.map { |arg| arg.dup.freeze }.freeze
      assign(frozen, pid, exit_code, signal, stdout, stderr, duration, max_rss, ending,
             killed_leftovers, abandoned, progress, terminated_at, killed_at)
    end

    # @return [Boolean] true when the program exited with code 0
    def success? = exit_code&.zero? == true
    alias ok? success?

    # @return [Boolean] true when the time bound ended it
    def timed_out? = ending == :timeout

    # @return [Boolean] true when a stream went past `max_output:`
    def output_limited? = %i[stdout_limit stderr_limit].include?(ending)

    # @return [Boolean] true when a signal ended the program
    def signaled? = !signal.nil?

    # @return [Boolean] false when the host reaped the program itself (a
    #   `trap("CHLD") { Process.wait }`), so neither exit code nor signal is known
    def status_known? = !(exit_code.nil? && signal.nil?)

    # @return [Boolean] true when processes of its group outlived the program and were ended
    def killed_leftovers? = @killed_leftovers

    # @return [Boolean] true when the program or its group survived even SIGKILL
    #   (uninterruptible sleep) and had to be left behind
    def abandoned? = @abandoned

    # @return [String, nil] e.g. "SIGTERM"
    def signal_name
      signal && "SIG#{Signal.signame(signal)}"
    end

    # @return [String] the last {TAIL_BYTES} bytes of stderr, whole lines where possible
    def stderr_tail = Result.tail(stderr)

    # @return [Hash{Symbol=>Object}]
    def to_h
      { argv:, pid:, exit_code:, signal:, stdout:, stderr:,
        duration:, max_rss:, ending:, progress: }
    end

    # @return [String]
    def inspect
      "#<#{self.class.name} #{Redaction.program(argv)} pid=#{pid} exit_code=#{exit_code.inspect} " \
        "signal=#{signal_name.inspect} ending=#{ending} duration=#{format("%.3f", duration)}s " \
        "stdout=#{stdout.bytesize}B stderr=#{stderr.bytesize}B>"
    end

    private

    # What {#initialize} assigns. A run's Result is built by the native
    # extension with the same instance variables (ext/gazette_runner/src/result.rs),
    # in one step: after the program's wait, Ruby code runs with cold caches.
    def assign(argv, pid, exit_code, signal, stdout, stderr, duration, max_rss, ending, # rubocop:disable Metrics/ParameterLists
               killed_leftovers, abandoned, progress, terminated_at, killed_at)
      @argv = argv
      @pid = pid
      @exit_code = exit_code
      @signal = signal
      @stdout = Result.text(stdout)
      @stderr = Result.text(stderr)
      @duration = duration
      @max_rss = max_rss
      @ending = ending
      @killed_leftovers = killed_leftovers
      @abandoned = abandoned
      @progress = progress
      @terminated_at = terminated_at
      @killed_at = killed_at
      freeze
    end

    class << self
      # Output as a frozen String in `Encoding.default_external` (like Open3's).
      # @api private
      # @param bytes [String] unfrozen when it comes from a run
      # @return [String]
      def text(bytes)
        external = Encoding.default_external
        return bytes if bytes.frozen? && bytes.encoding == external

        (+bytes).force_encoding(external).freeze
      end

      # The end of `text`, at most {TAIL_BYTES} bytes, starting at a line
      # boundary where possible (the end is what explains a failure; every
      # other cap keeps the start, with {Caps.cut}).
      # @api private
      def tail(text)
        return text if text.bytesize <= TAIL_BYTES

        cut = text.byteslice(-TAIL_BYTES, TAIL_BYTES).scrub
        cut.include?("\n") ? cut[(cut.index("\n") + 1)..] : cut
      end

      # "stderr: <tail>" for error messages, or a note that stderr was empty.
      # @api private
      def tail_note(stderr)
        tail = tail(stderr).strip
        tail.empty? ? "stderr was empty" : "stderr: #{tail.scrub}"
      end
    end
  end
end
