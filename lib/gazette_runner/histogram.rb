# frozen_string_literal: true

module GazetteRunner
  # Durations in logarithmic buckets: bucket i holds values in
  # [MIN * GROWTH**i, MIN * GROWTH**(i + 1)). Every histogram uses the same
  # boundaries, so histograms from different processes and different time
  # windows merge exactly, by adding counts; percentiles read from a merge are
  # as good as from one histogram (within GROWTH, about 5 %, of the true
  # value). Recording is O(1) and memory is bounded (about 240 buckets cover
  # 0.1 ms to ten days).
  class Histogram
    # The lower edge of bucket 0, in seconds; shorter values count there.
    MIN = 1.0e-4
    # The ratio of one bucket's edges.
    GROWTH = 1.1
    # The last bucket, which also counts anything longer than it.
    LAST = Math.log(86_400 * 10 / MIN, GROWTH).ceil
    LOG_GROWTH = Math.log(GROWTH)
    private_constant :LOG_GROWTH

    # @return [Integer] values recorded
    attr_reader :count
    # @return [Float] their sum, in seconds
    attr_reader :sum
    # @return [Float, nil] the smallest value recorded
    attr_reader :min
    # @return [Float, nil] the largest value recorded
    attr_reader :max

    # @param buckets [Hash{Integer=>Integer}] bucket index => values in it
    # @param sum [Float]
    # @param min [Float, nil]
    # @param max [Float, nil]
    def initialize(buckets: {}, sum: 0.0, min: nil, max: nil)
      @buckets = buckets.to_h { |index, n| [Integer(index), Integer(n)] }
      @count = @buckets.values.sum
      @sum = sum.to_f
      @min = min&.to_f
      @max = max&.to_f
    end

    # @api private
    # @param seconds [Float]
    # @return [self]
    def record(seconds)
      index = Histogram.index(seconds)
      @buckets[index] = @buckets.fetch(index, 0) + 1
      @count += 1
      @sum += seconds
      @min = seconds if @min.nil? || seconds < @min
      @max = seconds if @max.nil? || seconds > @max
      self
    end

    # @param seconds [Float]
    # @return [Integer] the bucket that counts it
    def self.index(seconds)
      return 0 if seconds < MIN * GROWTH

      (Math.log(seconds / MIN) / LOG_GROWTH).floor.clamp(0, LAST)
    end

    # @param quantile [Float] in [0, 1], e.g. 0.95
    # @return [Float, nil] seconds; nil when nothing was recorded
    def percentile(quantile)
      return nil if count.zero?

      # The bucket's geometric middle, kept within what was really recorded.
      (MIN * (GROWTH**(bucket_at((quantile * count).ceil) + 0.5))).clamp(min, max)
    end

    # @param rank [Integer] 1-based, in the sorted values
    # @return [Integer] the bucket holding the value of that rank
    def bucket_at(rank)
      seen = 0
      rank = rank.clamp(1, count)
      @buckets.keys.sort.find { |index| (seen += @buckets[index]) >= rank }
    end
    private :bucket_at

    # @return [Hash{Symbol=>Float, nil}] `{p50:, p95:, p99:}` in seconds
    def percentiles = { p50: percentile(0.5), p95: percentile(0.95), p99: percentile(0.99) }

    # @return [Float, nil] the mean, in seconds
    def mean = count.zero? ? nil : sum / count

    # @param other [Histogram]
    # @return [Histogram] a new histogram holding both
    def merge(other)
      Histogram.new(buckets: @buckets.merge(other.buckets_hash) { |_, a, b| a + b }, sum: sum + other.sum,
                    min: [min, other.min].compact.min, max: [max, other.max].compact.max)
    end

    # A copy nobody else can change.
    # @return [Histogram] frozen
    def snapshot = Histogram.new(buckets: @buckets, sum:, min:, max:).freeze

    # @api private
    # @return [Hash{Integer=>Integer}]
    def buckets_hash = @buckets.dup

    # JSON-ready: String keys, buckets as `[index, count]` pairs. The edges
    # travel along, so a reader can refuse a histogram built with others.
    # @return [Hash{String=>Object}]
    def to_h
      { "min_edge" => MIN, "growth" => GROWTH, "buckets" => @buckets.sort, "count" => count,
        "sum" => sum, "min" => min, "max" => max }
    end

    # @param hash [Hash] as {#to_h} returns it, with String or Symbol keys
    # @return [Histogram]
    # @raise [ArgumentError] it was built with other bucket edges
    def self.from_h(hash)
      hash = hash.transform_keys(&:to_s)
      unless hash["min_edge"] == MIN && hash["growth"] == GROWTH
        raise ArgumentError, "histogram edges #{hash.values_at("min_edge", "growth").inspect} " \
                             "differ from #{[MIN, GROWTH].inspect}"
      end

      new(buckets: hash.fetch("buckets").to_h, sum: hash.fetch("sum"), min: hash["min"], max: hash["max"])
    end
  end
end
