# frozen_string_literal: true

require "json"
require "tmpdir"

# A child controls only its output. Whatever a key spells — serde_json's
# private tokens included — it is a key: the document the schema checks is the
# document run_json returns (issue 13).
RSpec.describe "Hostile output: schema bypass through serde's private tokens" do
  tokens = ["$serde_json::private::Number", "$serde_json::private::RawValue"].freeze
  bounded = { "properties" => { "amount" => { "maximum" => 100 } }, "additionalProperties" => false }.freeze

  def printing(text) = ["printf", "%s", text]

  # Prints `document` with a 300 KiB "pad" member, so the schema is checked on
  # a second thread while the Ruby objects are built (from 256 KiB on): the
  # same answer must come back on that path.
  def padded_printing(document)
    ["python3", "-c", "import sys, json; d = json.loads(sys.argv[1]); d['pad'] = 'p' * 300 * 1024; " \
                      "sys.stdout.write(json.dumps(d))", JSON.generate(document)]
  end

  tokens.each do |token|
    it "finds the violations next to a #{token} key, small and large", :gc_stress do
      document = { "amount" => 5000, "x" => { token => "zzz" } }
      [printing(JSON.generate(document)), padded_printing(document)].each do |argv|
        schema = bounded.merge("properties" => bounded["properties"].merge("pad" => {}))
        error = error_from { GazetteRunner.run_json(argv, schema:, timeout: time_bound(10)) }
        expect(error).to be_a(GazetteRunner::SchemaError)
        expect(error.errors.map(&:pointer)).to include("/amount")
        expect(error.violation_count).to eq(2)
      end
    end

    it "does not take #{token} => \"7\" for the number 7", :gc_stress do
      error = error_from do
        GazetteRunner.run_json(printing(%({"#{token}": "7"})), schema: { "type" => "integer" }, timeout: time_bound(5))
      end
      expect(error).to be_a(GazetteRunner::SchemaError)
      expect(error.errors.first.message).to include("is not of type \"integer\"")
    end

    it "returns a #{token} key as a key, as JSON.parse does", :gc_stress do
      text = %({"#{token}": "7", "n": {"#{token}": 1e2}, "#{token}x": [1]})
      expect(GazetteRunner.run_json(printing(text), timeout: time_bound(5))).to eq(JSON.parse(text))
      expect(GazetteRunner.run_json(printing(text), symbolize_names: true, timeout: time_bound(5)))
        .to eq(JSON.parse(text, symbolize_names: true))
      expect(GazetteRunner.run_json(printing(text), schema: { "type" => "object" }, timeout: time_bound(5)))
        .to eq(JSON.parse(text))
    end
  end

  it "raises InvalidJsonError, never passes, for a document its reader refuses under a schema" do
    ['{"a": 1,}', "[1] [2]", %({"#{tokens.first}": }), "#{"[" * 101}#{"]" * 101}"].each do |text|
      error = error_from { GazetteRunner.run_json(printing(text), schema: { "type" => "array" }, timeout: 5) }
      expect(error).to be_a(GazetteRunner::InvalidJsonError), "#{text}: #{error.inspect}"
    end
  end

  # A property: on generated documents whose keys and strings are often the
  # tokens, run_json under a schema returns exactly JSON.parse's document when a
  # plain Ruby check of the same rule accepts it, and raises SchemaError when not.
  context "on generated documents full of token strings" do
    schema = { "type" => "object", "additionalProperties" => { "type" => %w[string array] } }.freeze
    words = [*tokens, "#{tokens.first}x", "a", "\\u0024", "$", "7", ""].freeze

    def valid?(document) = document.is_a?(Hash) && document.values.all? { |v| v.is_a?(String) || v.is_a?(Array) }

    def generated(rng, words, depth = 0)
      case rng.rand(depth > 2 ? 3 : 5)
      when 0 then words.sample(random: rng)
      when 1 then [rng.rand(-(10**25)..(10**25)), rng.rand * 1e3, "7", "1e2"].sample(random: rng)
      when 2 then [true, false, nil].sample(random: rng)
      when 3 then Array.new(rng.rand(0..3)) { generated(rng, words, depth + 1) }
      else Array.new(rng.rand(0..4)) { [words.sample(random: rng), generated(rng, words, depth + 1)] }.to_h
      end
    end

    it "agrees with JSON.parse and with the rule, on 200 documents" do
      rng = Random.new(RSpec.configuration.seed)
      outcomes = Hash.new(0)
      200.times do
        document = Array.new(rng.rand(1..4)) { [words.sample(random: rng), generated(rng, words, 1)] }.to_h
        text = JSON.generate(document)
        expected = JSON.parse(text)
        begin
          got = GazetteRunner.run_json(["cat"], stdin: text, schema:, timeout: 10)
          expect(valid?(expected)).to be(true), "passed but breaks the rule: #{text}"
          expect(got).to eq(expected)
          expect(GazetteRunner.run_json(["cat"], stdin: text, timeout: 10)).to eq(expected)
          outcomes[:valid] += 1
        rescue GazetteRunner::SchemaError => e
          expect(valid?(expected)).to be(false), "refused a valid document: #{text}: #{e.message}"
          outcomes[:invalid] += 1
        end
      end
      expect(outcomes.keys).to contain_exactly(:valid, :invalid)
    end
  end
end
