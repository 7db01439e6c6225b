# frozen_string_literal: true

# The synthetic traces of bench/estimator.rb: six scripts of the brief's
# shapes (and one beyond it), each with its generator's exact quantiles.
module EstimatorBench
  # Noise of ln(duration) around the median: normal or Laplace (whose
  # durations have a Pareto tail, of index 1 / b), each with an optional
  # slow path (OCR) taken by a share of the inputs.
  Noise = Struct.new(:kind, :scale, :slow_share, :slow_factor, keyword_init: true) do
    def sample(random)
      base = kind == :normal ? scale * gaussian(random) : laplace(random)
      random.rand < slow_share ? base + Math.log(slow_factor) : base
    end

    def cdf(log) = ((1 - slow_share) * base_cdf(log)) + (slow_share * base_cdf(log - Math.log(slow_factor)))

    # A quantile of the noise, by bisection on its CDF.
    def quantile(probability)
      low = -20.0
      high = 20.0
      100.times do
        middle = (low + high) / 2
        cdf(middle) < probability ? low = middle : high = middle
      end
      high
    end

    private

    def gaussian(random) = Math.sqrt(-2 * Math.log(1 - random.rand)) * Math.cos(2 * Math::PI * random.rand)

    def laplace(random)
      u = random.rand - 0.5
      -scale * (u.negative? ? -1 : 1) * Math.log(1 - (2 * u.abs))
    end

    def base_cdf(log)
      return 0.5 * Math.erfc(-log / (scale * Math.sqrt(2))) if kind == :normal

      half = 0.5 * Math.exp(-log.abs / scale) # Laplace
      log.negative? ? half : 1 - half
    end
  end

  # A script: its median duration by size before and after a deploy halfway
  # through the trace, and its noise.
  Trace = Struct.new(:name, :shape, :before, :after, :noise, :seed, keyword_init: true)

  TRACES = [
    Trace.new(name: "linear", shape: "1 + 0.35·p s, lognormal σ 0.25, drift ×2",
              before: ->(p) { 1 + (0.35 * p) }, after: ->(p) { 2 * (1 + (0.35 * p)) },
              noise: Noise.new(kind: :normal, scale: 0.25, slow_share: 0, slow_factor: 1), seed: 1),
    Trace.new(name: "superlinear", shape: "2 + 0.004·p^1.7 s, lognormal σ 0.3, drift ×1.5",
              before: ->(p) { 2 + (0.004 * (p**1.7)) }, after: ->(p) { 1.5 * (2 + (0.004 * (p**1.7))) },
              noise: Noise.new(kind: :normal, scale: 0.3, slow_share: 0, slow_factor: 1), seed: 2),
    Trace.new(name: "start-up cost", shape: "40 + 0.08·p s, lognormal σ 0.2, drift: per-page cost ×2",
              before: ->(p) { 40 + (0.08 * p) }, after: ->(p) { 40 + (0.16 * p) },
              noise: Noise.new(kind: :normal, scale: 0.2, slow_share: 0, slow_factor: 1), seed: 3),
    Trace.new(name: "two speeds (OCR)", shape: "1.5 + 0.12·p s, 20 % of inputs ×6, lognormal σ 0.3, drift ×1.75",
              before: ->(p) { 1.5 + (0.12 * p) }, after: ->(p) { 1.75 * (1.5 + (0.12 * p)) },
              noise: Noise.new(kind: :normal, scale: 0.3, slow_share: 0.2, slow_factor: 6), seed: 4),
    Trace.new(name: "heavy tail", shape: "2 + 0.25·p s, log-Laplace b 0.25 (Pareto tail α 4), drift ×2",
              before: ->(p) { 2 + (0.25 * p) }, after: ->(p) { 2 * (2 + (0.25 * p)) },
              noise: Noise.new(kind: :laplace, scale: 0.25, slow_share: 0, slow_factor: 1), seed: 5),
    Trace.new(name: "all at once", shape: "20 + 0.002·p^1.6 s, 10 % ×5, log-Laplace b 0.2, drift ×2",
              before: ->(p) { 20 + (0.002 * (p**1.6)) }, after: ->(p) { 2 * (20 + (0.002 * (p**1.6))) },
              noise: Noise.new(kind: :laplace, scale: 0.2, slow_share: 0.1, slow_factor: 5), seed: 6),
    # Beyond the brief: a slowdown so large that no run finishes within its bound at first.
    Trace.new(name: "drift ×5", shape: "1 + 0.35·p s, lognormal σ 0.25, drift ×5 (beyond the brief's 1.5–2×)",
              before: ->(p) { 1 + (0.35 * p) }, after: ->(p) { 5 * (1 + (0.35 * p)) },
              noise: Noise.new(kind: :normal, scale: 0.25, slow_share: 0, slow_factor: 1), seed: 7)
  ].freeze
end
