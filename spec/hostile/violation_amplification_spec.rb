# frozen_string_literal: true

require "json"

# A child controls only its output: whatever it prints, a SchemaError costs
# memory in proportion to the output, with a small constant, and its message
# stays a few KiB (issue 13).
RSpec.describe "Hostile output: violation amplification" do
  # What a violation's pointer and message may take (the core's
  # MAX_VIOLATION_TEXT_BYTES), and what the message of a SchemaError, showing
  # SchemaError::SHOWN of them, may then take.
  text_cap = 512
  message_cap = 8 * 1024

  def python(code) = ["python3", "-c", "import sys; #{code}"]

  it "keeps the first 100 violations and counts them all", :gc_stress do
    argv = python("sys.stdout.write('[' + ','.join(['1'] * 10000) + ']')")
    schema = { "items" => { "type" => "string" } }
    error = error_from { GazetteRunner.run_json(argv, schema:, timeout: time_bound(10)) }
    expect(error).to be_a(GazetteRunner::SchemaError)
    expect(error.errors.size).to eq(100)
    expect(error.errors.first.pointer).to eq("/0")
    expect(error.violation_count).to eq(10_000)
    expect(error.message).to include("(and 9995 more)")
  end

  it "quotes an excerpt of a 5 MB value, not the value", :gc_stress do
    argv = python("sys.stdout.write('{\"a\": \"' + 'x' * (5 << 20) + '\"}')")
    schema = { "properties" => { "a" => { "type" => "integer", "maxLength" => 3 } } }
    error = error_from { GazetteRunner.run_json(argv, schema:, timeout: time_bound(20)) }
    expect(error).to be_a(GazetteRunner::SchemaError)
    expect(error.message.bytesize).to be < message_cap
    expect(error.errors.map(&:message)).to all(satisfy { |m| m.bytesize <= text_cap })
    expect(error.errors.map(&:message)).to include(match(/\A"x+… is not of type "integer"\z/))
  end

  it "caps pointers under a 1 MB key", :gc_stress do
    argv = python("sys.stdout.write('{\"' + 'k' * (1 << 20) + '\": [1, 2, 3]}')")
    schema = { "additionalProperties" => { "items" => { "type" => "string" } } }
    error = error_from { GazetteRunner.run_json(argv, schema:, timeout: time_bound(20)) }
    expect(error).to be_a(GazetteRunner::SchemaError)
    expect(error.errors.map(&:pointer)).to all(satisfy { |p| p.bytesize <= text_cap && p.start_with?("/kkk") })
    expect(error.message.bytesize).to be < message_cap
  end

  # Measured in a child Ruby process, whose peak RSS (VmHWM) is its own: 2 MB
  # of "1," against `items: string` is a million violations. It cost ~640 MiB
  # when each became a Violation; now the bound is a small multiple of the
  # output (the validated tree, the captured output and the Ruby Array).
  it "costs memory in proportion to the output, with a small constant" do
    bytes = 2 << 20
    status, out, err = run_ruby_child(<<~RUBY, within: 120)
      require "gazette_runner"
      def peak = File.read("/proc/self/status")[/VmHWM:\\s+(\\d+)/, 1].to_i * 1024
      GazetteRunner.run_json(["printf", "[1]"], schema: { "type" => "array" }, timeout: 10)
      GC.start
      before = peak
      argv = ["python3", "-c", "import sys; sys.stdout.write('[' + ','.join(['1'] * #{bytes / 2}) + ']')"]
      begin
        GazetteRunner.run_json(argv, schema: { "items" => { "type" => "string" } }, timeout: 100)
      rescue GazetteRunner::SchemaError => e
        puts [peak - before, e.errors.size, e.message.bytesize].join(" ")
      end
    RUBY
    expect(status).to be_success, err
    growth, kept, message = out.split.map(&:to_i)
    expect(kept).to be_between(1, 100)
    expect(message).to be < message_cap
    expect(growth).to be < (48 * bytes) + (32 << 20), "peak RSS grew #{growth >> 20} MiB for #{bytes >> 20} MiB"
  end
end
