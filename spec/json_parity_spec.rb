# frozen_string_literal: true

require "json"

# run_json must agree with Ruby's JSON.parse on every valid document. The
# documents are generated from a seeded random source (rspec's --seed), and
# the edge cases JSON.parse is known for are listed explicitly.
RSpec.describe "run_json agrees with JSON.parse" do
  def parse_both(text)
    ours = GazetteRunner.run_json(["cat"], stdin: text, timeout: 10)
    [ours, JSON.parse(text)]
  end

  # Compares exactly: class, value, and the sign of zero for floats.
  def same?(left, right)
    return false unless left.instance_of?(right.class)

    case left
    when Array then left.size == right.size && left.zip(right).all? { |a, b| same?(a, b) }
    when Hash then left.keys == right.keys && left.keys.all? { |k| same?(left[k], right[k]) }
    when Float then left.eql?(right) || (left.nan? && right.nan?)
    else left == right
    end
  end

  edge_cases = [
    "12345678901234567890123456789", "-98765432109876543210", "-0", "-0.0", "0.1", "1e400", "-1e400",
    "1e-400", "2.5e-324", "1.7976931348623157e308", "9007199254740993", "0.30000000000000004",
    "123456789.123456789e-5", '"\\ud83d\\ude00 \\u00e9 \\n \\" \\\\ \\/"', '{"a": 1, "b": 2, "a": 3}',
    "[]", "{}", '""', "null", "true", "1E2", "[1.0, 1.5e3, -2E-2]"
  ].freeze

  it "on JSON.parse's edge cases", :gc_stress do
    edge_cases.each do |text|
      ours, theirs = parse_both(text)
      expect(same?(ours, theirs)).to be(true), "#{text}: #{ours.inspect} vs #{theirs.inspect}"
    end
  end

  def random_value(rng, depth)
    kinds = depth > 4 ? 5 : 7
    case rng.rand(kinds)
    when 0 then rng.rand(-(10**rng.rand(1..30))..(10**rng.rand(1..30)))
    when 1 then (rng.rand - 0.5) * (10**rng.rand(-300..300))
    when 2 then Array.new(rng.rand(0..12)) { rng.rand(0x10FFFF) }.reject { |c| c.between?(0xD800, 0xDFFF) }.pack("U*")
    when 3 then [true, false, nil][rng.rand(3)]
    when 4 then rng.rand(10**6)
    when 5 then Array.new(rng.rand(0..5)) { random_value(rng, depth + 1) }
    else Array.new(rng.rand(0..5)) { [random_value(rng, 5).to_s, random_value(rng, depth + 1)] }.to_h
    end
  end

  it "on 300 generated documents" do
    rng = Random.new(RSpec.configuration.seed)
    300.times do
      text = JSON.generate(random_value(rng, 0))
      ours, theirs = parse_both(text)
      expect(same?(ours, theirs)).to be(true), "#{text[0, 200]}: #{ours.inspect[0, 200]} vs #{theirs.inspect[0, 200]}"
    end
  end
end
