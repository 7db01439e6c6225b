# frozen_string_literal: true

module GazetteRunner
  # A fleet-wide alert condition that started holding (`firing`) or stopped
  # holding (`cleared`), handed to {GazetteRunner.on_alert} handlers. The
  # conditions are evaluated by `GazetteRunner::Fleet` (require
  # "gazette_runner/fleet"); each change is delivered once for the whole fleet,
  # in the one process that holds the evaluation lock. Frozen.
  class Alert
    # The conditions, in the dashboard's order: a job running too long, a
    # worker process using too much memory, too low a success rate over the
    # last hour, too many jobs added to Sidekiq's dead set in the last hour.
    NAMES = %i[long_job worker_memory success_rate dead_jobs].freeze

    # @return [Symbol] one of {NAMES} (fleet-wide), or `:slower_than_learned` (one run; see {Estimator::Watch})
    attr_reader :name
    # @return [Symbol] :firing (it started holding) or :cleared (it stopped)
    attr_reader :state
    # @return [Numeric, nil] the measured value (seconds, bytes, a ratio, a count)
    attr_reader :value
    # @return [Numeric] the threshold it is compared with
    attr_reader :threshold
    # @return [Time] when the condition started holding
    attr_reader :since
    # @return [String] what it is about, for a human (e.g. which job or worker)
    attr_reader :detail

    # @param name [Symbol, String]
    # @param state [Symbol, String] :firing or :cleared
    # @param value [Numeric, nil]
    # @param threshold [Numeric]
    # @param since [Time, Numeric] a Time or Unix time
    # @param detail [String]
    def initialize(name:, state:, value:, threshold:, since:, detail: "") # rubocop:disable Metrics/ParameterLists
      @name = name.to_sym
      @state = state.to_sym
      @value = value
      @threshold = threshold
      @since = since.is_a?(Time) ? since : Time.at(since)
      @detail = detail.to_s.dup.freeze
      freeze
    end

    # @return [Boolean] true when the condition started holding
    def firing? = state == :firing

    # @return [Boolean] true when the condition stopped holding
    def cleared? = state == :cleared

    # @return [Hash{String=>Object}] JSON-ready
    def to_h
      { "name" => name.to_s, "state" => state.to_s, "value" => value, "threshold" => threshold,
        "since" => since.to_f, "detail" => detail }
    end

    # @return [String]
    def inspect = "#<#{self.class.name} #{name} #{state} value=#{value.inspect} threshold=#{threshold.inspect}>"

    @handlers = Listeners.new do |error|
      GazetteRunner.logger&.error("gazette_runner alert handler failed: #{Redaction.error(error)}")
    end

    class << self
      # @param block [Proc] called with each {Alert}
      # @return [Proc] the handler, for {.off}
      # @raise [ArgumentError] no block
      def on(&block)
        raise ArgumentError, "on_alert needs a block" unless block

        @handlers.add(block)
      end

      # @param handler [Proc] what {.on} returned
      # @return [Boolean] true when it was registered
      def off(handler)
        @handlers.remove(handler)
      end

      # Hands the alert to every handler; a handler that raises is logged and skipped.
      # @api private
      # @param alert [Alert]
      # @return [void]
      def deliver(alert)
        @handlers.notify(alert)
      end
    end
  end
end
