# frozen_string_literal: true

# x, y, k, i and w are the model's notation throughout (ln size, ln duration,
# size bucket, histogram bin, weight), as in docs/estimator.md.
# rubocop:disable Naming/MethodParameterName

module GazetteRunner
  class Estimator
    # What an {Estimator} has learned, as sums of bounded size that a run
    # updates in O(1) and that merge exactly (see {#merge}).
    #
    # Everything is in log space: x = ln(size + 1), y = ln(duration). Older
    # runs weigh less: each run multiplies the weight of all earlier ones by
    # {#decay} in the curve and by {#tail_decay} in the residuals (half-lives
    # counted in runs, not in wall time, so a script that runs rarely forgets
    # as slowly as a busy one). The curve forgets faster (it must follow a
    # slowdown), the residuals slower (a 99.9 % quantile needs thousands of
    # runs). Instead of scaling every sum on each run, the next run's weight
    # grows by 1 / decay and the sums are rescaled once in a while.
    #
    # - a weighted least-squares line of y on x (the trend, used to extrapolate);
    # - per size bucket (sizes within a factor of 2), the weighted means of x
    #   and y: the curve through them follows any growth shape, a fixed
    #   start-up cost included;
    # - a fast moving average of residuals, the level, which follows a sudden
    #   slowdown (a deploy) within a few runs, before the slow sums catch up;
    # - a histogram of residual ratios (duration / predicted median) on
    #   {Histogram}'s bucket edges, read from the top for high quantiles: it
    #   holds both speeds of a two-speed script and heavy tails as they are;
    # - moving rates of probable hangs and of runs ended by too tight a bound.
    # @api private
    class State # rubocop:disable Metrics/ClassLength -- one set of sums, kept together so merge sees them all
      # Size buckets: bucket k holds sizes with floor(log2(size + 1)) == k.
      SIZE_BUCKETS = 48
      # Sums are rescaled when the next run's weight passes this.
      RESCALE_AT = 1.0e100
      # A bucket's mean is shrunk towards the trend line as if the line had
      # this many runs there: one or two runs in a new bucket do not bend the curve.
      PRIOR_RUNS = 3.0
      # Residuals are clipped to +/- this (log units) in the level, so a
      # single outlier or an OCR run moves it little.
      LEVEL_CLIP = 1.0
      # The level counts beyond this many of its standard deviations (see #shift).
      DEAD_ZONE = 2.0
      # The weight of a run in {#ended_rate}.
      ENDED_RATE = 0.1
      # Histogram buckets.
      BINS = Histogram::LAST + 1
      LN2 = Math.log(2)
      LN_MIN = Math.log(Histogram::MIN)
      LN_GROWTH = Math.log(Histogram::GROWTH)
      private_constant :RESCALE_AT, :LN2, :LN_MIN, :LN_GROWTH

      # The settings a state carries, each in (0, 1).
      RATES = %w[decay tail_decay level_rate hang_rate_rate].freeze
      # Counters that add up in a merge.
      COUNTS = %w[runs hangs tight cold ticks].freeze
      # Fields of the trend line, in {#to_h}'s order.
      LINE = %w[s0 sx sxx sy sxy].freeze

      # @return [Float] the weight a run keeps per later run in the curve
      attr_reader :decay
      # @return [Float] the weight a run keeps per later run in the residuals
      attr_reader :tail_decay
      # @return [Float] the level's weight for a new residual
      attr_reader :level_rate
      # @return [Integer] finished runs learned from (not decayed)
      attr_reader :runs
      # @return [Integer] runs ended at their bound and taken as probable hangs (not decayed)
      attr_reader :hangs
      # @return [Integer] runs ended at their bound and taken as too tight a bound (not decayed)
      attr_reader :tight
      # @return [Float] the level: recent residuals' moving average, in log units
      attr_reader :level
      # @return [Float] the moving share of runs that were probable hangs
      attr_reader :hang_rate
      # @return [Float] the fast moving share (about 10 runs) of runs ended at their bound
      attr_reader :ended_rate

      # @param decay [Float] in (0, 1), for the curve
      # @param tail_decay [Float] in (0, 1), for the residuals
      # @param level_rate [Float] in (0, 1)
      # @param hang_rate_rate [Float] in (0, 1), the weight of a run in {#hang_rate}
      def initialize(decay:, tail_decay:, level_rate:, hang_rate_rate:) # rubocop:disable Metrics/AbcSize -- every sum starts at 0
        @decay = decay
        @tail_decay = tail_decay
        @level_rate = level_rate
        @hang_rate_rate = hang_rate_rate
        @runs = @hangs = @tight = @cold = @ticks = 0
        @level = @hang_rate = @ended_rate = 0.0
        @weight = @tail_weight = 1.0
        @line = Array.new(LINE.size, 0.0)
        @moments = [0.0, 0.0] # the residuals' sum and sum of squares
        @bw, @bx, @by = Array.new(3) { Array.new(SIZE_BUCKETS, 0.0) }
        @hist = Array.new(BINS, 0.0)
        @top = 0
        @hist_total = 0.0
        @tails = {}
      end

      # @param x [Float] ln(size + 1)
      # @return [Float] the predicted median of ln(duration), the level included
      def location(x) = curve(x) + shift

      # The level as far as it stands out of its own noise: the moving
      # average of a few runs wanders by about deviation * sqrt(rate / (2 - rate))
      # even when nothing changed, and a bound or a p50 must not wander with it.
      # @return [Float] log units
      def shift
        noise = DEAD_ZONE * deviation * Math.sqrt(@level_rate / (2.0 - @level_rate))
        @level - @level.clamp(-noise, noise)
      end

      # A run that finished (or ended at a bound judged too tight: then y is
      # its lower bound), in three steps: {#add_residual}, {#add_point},
      # {#tick}. The caller takes raw and residual from the state that
      # predicts (see {#curve}), before the run's point is learned, so the
      # histogram holds errors of real predictions (during the cold start,
      # after: the first runs' predictions are no predictions); a fleet's
      # delta state learns the same numbers as the process's full state.
      # @param raw [Float] ln(duration) minus {#curve} at the run's size
      # @param residual [Float] raw minus {#level}
      # @return [void]
      def add_residual(raw, residual)
        learn_residual(residual)
        @level += @level_rate * (raw.clamp(-LEVEL_CLIP, LEVEL_CLIP) - @level)
      end

      # @param x [Float]
      # @param y [Float]
      # @return [void]
      def add_point(x, y) # rubocop:disable Metrics/AbcSize -- one line per sum, inline: the hot path
        w = @weight
        line = @line
        line[0] += w
        line[1] += w * x
        line[2] += w * x * x
        line[3] += w * y
        line[4] += w * x * y
        k = bucket(x)
        @bw[k] += w
        @bx[k] += w * x
        @by[k] += w * y
        @trend = @curve_x = nil
      end

      # Ends a run's learning: earlier runs weigh less from now on.
      # @param ended [Boolean] true when the run was ended at its bound
      # @return [void]
      def tick(ended: false)
        @hang_rate -= @hang_rate_rate * @hang_rate
        @ended_rate += ENDED_RATE * ((ended ? 1.0 : 0.0) - @ended_rate)
        @runs += 1
        @ticks += 1
        @weight /= decay
        @tail_weight /= tail_decay
        @curve_x = nil # the bucket prior's weight follows the run's
        rescale if @weight > RESCALE_AT || @tail_weight > RESCALE_AT
      end

      # A run ended at its bound, taken as a probable hang: counted, not learned.
      # @return [void]
      def add_hang
        @hang_rate += @hang_rate_rate * (1.0 - @hang_rate)
        @ended_rate += ENDED_RATE * (1.0 - @ended_rate)
        @hangs += 1
        @ticks += 1
      end

      # @return [void]
      def count_tight = @tight += 1

      # A run ended at the cold-start fallback: kept aside, not learned.
      # @return [void]
      def count_cold = @cold += 1

      # @return [Integer] runs ended at the fallback bound before anything was learned
      attr_reader :cold

      # @param quantile [Float] in (0, 1)
      # @return [Float, nil] that quantile of residuals (log units, the upper
      #   edge of its bucket), nil before any run
      def tail(quantile)
        @tails[quantile] ||= compute_tail(quantile)
      end

      # A high quantile extrapolated from two lower ones, as if the tail
      # beyond them were exponential in log space (a Pareto tail of durations):
      # the 99.9 % from the 99 % and 99.5 %, which rest on 10 and 5 times more
      # runs than the 99.9 % itself.
      # @param quantile [Float] in (0, 1)
      # @return [Float, nil] log units
      def extrapolated_tail(quantile)
        beyond = 1.0 - quantile
        near = tail(1.0 - (5 * beyond))
        far = tail(1.0 - (10 * beyond))
        near && (near + ((near - far) / Math.log(2) * Math.log(5)))
      end

      # @param quantile [Float] in (0, 1)
      # @return [Float, nil] that quantile of residuals (log units, its bucket's middle), nil before any run
      def residual_quantile(quantile)
        index = bin_at(quantile)
        index && (LN_MIN + ((index + 0.5) * LN_GROWTH))
      end

      # @return [Float] the residuals' standard deviation (log units)
      def deviation
        return 0.0 unless @hist_total.positive?

        mean = @moments[0] / @hist_total
        variance = (@moments[1] / @hist_total) - (mean * mean)
        variance.positive? ? Math.sqrt(variance) : 0.0
      end

      # @return [Float] the effective number of runs behind the sums
      def weight = @hist_total / @tail_weight

      # @return [Float] the trend line's slope (d ln duration / d ln size), 0 without spread in size
      def slope
        s0, sx, sxx, sy, sxy = @line
        spread = (s0 * sxx) - (sx * sx)
        spread > 1.0e-9 * s0 * s0 ? ((s0 * sxy) - (sx * sy)) / spread : 0.0
      end

      # @return [Float, nil] the largest x learned from (the middle of the highest bucket's runs)
      def max_x
        k = @bw.rindex(&:positive?)
        k && (@bx[k] / @bw[k])
      end

      # The state after `newer`'s runs, which happened after this state's:
      # this one's weights decay by newer's run count, then the sums add, and
      # the moving averages combine as if the runs had been seen in order. The
      # run counts add. Associative, so a fleet merges deltas in any grouping.
      # @param newer [State]
      # @return [State] a new state
      # @raise [ArgumentError] the two use different decays
      def merge(newer)
        unless [newer.decay, newer.tail_decay, newer.level_rate] == [decay, tail_decay, level_rate]
          raise ArgumentError, "cannot merge estimator states with different decay or level rate"
        end

        State.from_h(merged_hash(to_h, newer.to_h))
      end

      # JSON-ready; sums in the frame where the next run weighs 1.
      # @return [Hash{String=>Object}]
      def to_h # rubocop:disable Metrics/AbcSize -- one field per sum
        scale = 1.0 / @weight
        tail_scale = 1.0 / @tail_weight
        { "version" => 1, "min_edge" => Histogram::MIN, "growth" => Histogram::GROWTH, "decay" => decay,
          "tail_decay" => tail_decay,
          "level_rate" => level_rate, "hang_rate_rate" => @hang_rate_rate, "runs" => runs, "hangs" => hangs,
          "tight" => tight, "cold" => cold, "ticks" => @ticks, "level" => level, "hang_rate" => hang_rate,
          "ended_rate" => ended_rate,
          "line" => LINE.zip(@line.map { |v| v * scale }).to_h,
          "sizes" => sparse(@bw).map { |k, w| [k, w * scale, @bx[k] * scale, @by[k] * scale] },
          "moments" => @moments.map { |v| v * tail_scale },
          "residuals" => sparse(@hist).map { |i, w| [i, w * tail_scale] } }
      end

      # @param hash [Hash] as {#to_h} returns it (String keys, as parsed JSON)
      # @return [State]
      # @raise [ArgumentError] a malformed or incompatible dump
      def self.from_h(hash)
        hash = hash.transform_keys(&:to_s)
        unless hash.values_at("version", "min_edge", "growth") == [1, Histogram::MIN, Histogram::GROWTH]
          raise ArgumentError, "estimator state of another version or histogram edges"
        end

        new(**RATES.to_h { |key| [key.to_sym, rate(hash.fetch(key))] }).tap { |state| state.load(hash) }
      rescue IndexError, TypeError, NoMethodError => e # KeyError is an IndexError
        raise ArgumentError, "malformed estimator state: #{e.message}"
      end

      # @api private
      # @param value [Object]
      # @return [Float] in (0, 1)
      # @raise [ArgumentError] anything else
      def self.rate(value)
        return value.to_f if value.is_a?(Numeric) && value.to_f.finite? && value.positive? && value < 1

        raise ArgumentError, "estimator state: a rate out of (0, 1): #{value.inspect}"
      end

      # @api private
      # @param hash [Hash{String=>Object}]
      # @return [void]
      def load(hash) # rubocop:disable Metrics/AbcSize -- one line per field of to_h
        @runs, @hangs, @tight, @cold, @ticks = COUNTS.map { |key| Integer(hash.fetch(key)) }
        @level, @hang_rate, @ended_rate = %w[level hang_rate ended_rate].map { |key| finite(hash.fetch(key)) }
        @line = LINE.map { |key| finite(hash.fetch("line").fetch(key)) }
        @moments = Array.new(2) { |i| finite(hash.fetch("moments").fetch(i)) }
        hash.fetch("sizes").each { |k, w, x, y| load_size(Integer(k), finite(w), finite(x), finite(y)) }
        hash.fetch("residuals").each { |i, w| load_residual(Integer(i), finite(w)) }
        @trend = @curve_x = nil
      end

      private

      def merged_hash(old, new) # rubocop:disable Metrics/AbcSize -- one line per field of to_h
        fade = decay**new["runs"]
        tail_fade = tail_decay**new["runs"]
        level_fade = (1.0 - level_rate)**new["runs"]
        new.merge(
          COUNTS.to_h { |key| [key, old[key] + new[key]] },
          "level" => (old["level"] * level_fade) + new["level"],
          "hang_rate" => (old["hang_rate"] * ((1.0 - @hang_rate_rate)**new["ticks"])) + new["hang_rate"],
          "ended_rate" => (old["ended_rate"] * ((1.0 - ENDED_RATE)**new["ticks"])) + new["ended_rate"],
          "line" => LINE.to_h { |key| [key, (old["line"][key] * fade) + new["line"][key]] },
          "sizes" => add_rows(old["sizes"], new["sizes"], fade),
          "moments" => old["moments"].zip(new["moments"]).map { |a, b| (a * tail_fade) + b },
          "residuals" => add_rows(old["residuals"], new["residuals"], tail_fade)
        )
      end

      def add_rows(old, new, fade)
        rows = old.to_h { |key, *values| [key, values.map { |v| v * fade }] }
        new.each { |key, *values| rows[key] = rows.key?(key) ? rows[key].zip(values).map(&:sum) : values }
        rows.sort.map(&:flatten)
      end

      def sparse(values) = values.each_with_index.filter_map { |w, i| [i, w] if w.positive? }

      def finite(value)
        value = Float(value)
        raise ArgumentError, "estimator state holds a non-finite number" unless value.finite?

        value
      end

      def load_size(k, w, x, y)
        raise ArgumentError, "estimator state: size bucket #{k} out of range" unless k.between?(0, SIZE_BUCKETS - 1)

        @bw[k] = w
        @bx[k] = x
        @by[k] = y
      end

      def load_residual(i, w)
        raise ArgumentError, "estimator state: residual bucket #{i} out of range" unless i.between?(0, BINS - 1)

        @hist[i] = w
        @hist_total += w
        @top = i if w.positive? && i > @top
      end

      def learn_residual(residual)
        index = ((residual - LN_MIN) / LN_GROWTH).floor.clamp(0, BINS - 1)
        w = @tail_weight
        @hist[index] += w
        @hist_total += w
        @top = index if index > @top
        @moments[0] += w * residual
        @moments[1] += w * residual * residual
        @tails.clear
      end

      def rescale
        scale = 1.0 / @weight
        [@line, @bw, @bx, @by].each { |sums| sums.map! { |v| v * scale } }
        tail_scale = 1.0 / @tail_weight
        [@moments, @hist].each { |sums| sums.map! { |v| v * tail_scale } }
        @hist_total *= tail_scale
        @trend = @curve_x = nil
        @weight = @tail_weight = 1.0
      end

      def bucket(x) = (x / LN2).floor.clamp(0, SIZE_BUCKETS - 1)

      # The trend line at x.
      def trend(x)
        intercept, b = @trend ||= line_fit
        intercept + (b * x)
      end

      def line_fit
        s0, sx, _, sy = @line
        return [0.0, 0.0] unless s0.positive?

        b = slope
        [(sy - (b * sx)) / s0, b]
      end

      # Bucket k's point: its runs' mean x, and their mean y shrunk towards the line.
      def point(k)
        w = @bw[k]
        mean_x = @bx[k] / w
        prior = PRIOR_RUNS * @weight
        [mean_x, (@by[k] + (prior * trend(mean_x))) / (w + prior)]
      end

      # Weighs more than a thousandth of a recent run.
      def populated?(k) = @bw[k] > 1.0e-3 * @weight

      # The curve through the neighbouring buckets' points; outside them, a
      # line from the nearest point: growing at least linearly above the
      # largest sizes seen (a bound must not assume an unseen 5,000-page input
      # is as quick as a 500-page one), flat below the smallest.
      # @param x [Float] ln(size + 1)
      # @return [Float] the predicted median of ln(duration), without the level
      def curve(x)
        return @curve_y if x == @curve_x

        @curve_x = x
        @curve_y = fresh_curve(x)
      end

      def fresh_curve(x)
        return trend(x) if @line[0].zero?

        k = bucket(x)
        low = neighbour(k, x, -1)
        high = neighbour(k, x, 1)
        return between(x, low, high) if low || high

        outside(x, k)
      end

      # No bucket point within reach: beyond the sizes seen, from the nearest
      # bucket's point; within a wide gap between them, the trend line.
      def outside(x, k)
        populated = (0...SIZE_BUCKETS).select { |j| populated?(j) }
        return trend(x) if populated.empty? || k.between?(populated.first, populated.last)

        k > populated.last ? between(x, point(populated.last), nil) : between(x, nil, point(populated.first))
      end

      def between(x, low, high)
        if low && high
          (x0, y0) = low
          (x1, y1) = high
          y0 + ((y1 - y0) * (x - x0) / (x1 - x0))
        elsif low
          low[1] + ([slope, 1.0].max * (x - low[0]))
        else
          high[1]
        end
      end

      # The nearest bucket point on one side of x, within 3 buckets.
      def neighbour(k, x, step)
        j = k
        4.times do
          break unless j.between?(0, SIZE_BUCKETS - 1)

          if populated?(j)
            p = point(j)
            return p if step.negative? ? p[0] <= x : p[0] > x
          end
          j += step
        end
        nil
      end

      public :curve

      # Within the bin, the quantile is placed in proportion to the weight
      # that reaches it: a bin is 10 % wide, its upper edge would add 5 % on average.
      def compute_tail(quantile)
        total = @hist_total
        return nil unless total.positive?

        target = (1.0 - quantile) * total
        seen = 0.0
        @top.downto(0) do |i|
          w = @hist[i]
          return LN_MIN + ((i + 1 - ((target - seen) / w)) * LN_GROWTH) if seen + w > target

          seen += w
        end
        LN_MIN
      end

      # The histogram bin holding the quantile, found from the top: a high
      # quantile is a few bins down.
      def bin_at(quantile)
        total = @hist_total
        return nil unless total.positive?

        target = (1.0 - quantile) * total
        seen = 0.0
        @top.downto(0) do |i|
          seen += @hist[i]
          return i if seen > target
        end
        0
      end
    end
  end
end
# rubocop:enable Naming/MethodParameterName
