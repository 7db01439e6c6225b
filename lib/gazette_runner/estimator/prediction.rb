# frozen_string_literal: true

module GazetteRunner
  class Estimator
    # What an {Estimator} expects of a run of one size: the median, 90th and
    # 99th percentiles of its duration and the bound it would be given.
    # Before the estimator has learned enough, the percentiles are nil and the
    # bound is the fallback. Frozen.
    class Prediction
      # @return [Numeric] the input's size (pages, bytes, ...)
      attr_reader :size
      # @return [Float, nil] seconds; nil before anything is learned
      attr_reader :p50
      # @return [Float, nil] seconds
      attr_reader :p90
      # @return [Float, nil] seconds
      attr_reader :p99
      # @return [Float] seconds, what {Estimator#bound} answers for this size
      attr_reader :bound

      # @param size [Numeric]
      # @param p50 [Float, nil]
      # @param p90 [Float, nil]
      # @param p99 [Float, nil]
      # @param bound [Float]
      def initialize(size:, p50:, p90:, p99:, bound:)
        @size = size
        @p50 = p50
        @p90 = p90
        @p99 = p99
        @bound = bound
        freeze
      end

      # @return [Boolean] false while the estimator still answers its fallback
      def learned? = !p50.nil?

      # @return [Hash{Symbol=>Object}]
      def to_h = { size:, p50:, p90:, p99:, bound: }

      # @return [String]
      def inspect
        numbers = to_h.except(:size).map { |k, v| "#{k}=#{v ? format("%.3g", v) : "-"}" }.join(" ")
        "#<#{self.class.name} size=#{size} #{numbers}>"
      end
    end
  end
end
