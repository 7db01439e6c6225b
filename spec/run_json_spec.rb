# frozen_string_literal: true

require "json"
require "tmpdir"

RSpec.describe "GazetteRunner.run_json" do
  # Prints `text` exactly (printf's format is fixed, so nothing in text is interpreted).
  def printing(text) = ["printf", "%s", text]

  it "returns the parsed document", :gc_stress do
    expect(GazetteRunner.run_json(printing('{"page_count": 2, "files": ["a", "b"]}'), timeout: 5))
      .to eq("page_count" => 2, "files" => %w[a b])
  end

  it "symbolizes names when asked" do
    expect(GazetteRunner.run_json(printing('{"a": {"b": 1}}'), symbolize_names: true, timeout: 5))
      .to eq(a: { b: 1 })
  end

  it "raises ExitError first, with the stderr tail" do
    error = error_from { GazetteRunner.run_json(sh("echo '{}'; echo broken >&2; exit 2"), timeout: 5) }
    expect(error).to be_a(GazetteRunner::ExitError)
    expect(error.stderr_tail).to eq("broken\n")
    expect(error).not_to be_a(GazetteRunner::OutputError)
  end

  it "raises EmptyOutputError for empty or blank output", :gc_stress do
    [printing(""), printing(" \n\t\n")].each do |argv|
      error = error_from { GazetteRunner.run_json(argv, timeout: 5) }
      expect(error).to be_a(GazetteRunner::EmptyOutputError).and(be_a(GazetteRunner::OutputError))
      expect(error.result.success?).to be(true)
    end
  end

  it "raises InvalidJsonError with line, column, an excerpt and the raw text", :gc_stress do
    error = error_from { GazetteRunner.run_json(printing(%({"a": 1}\n  oops)), timeout: 5) }
    expect(error).to be_a(GazetteRunner::InvalidJsonError)
    expect(error).to have_attributes(line: 2, column: 3, raw: %({"a": 1}\n  oops))
    expect(error.message).to include("line 2", "column 3", "oops")
  end

  it "treats trailing garbage, invalid UTF-8 and nesting past 100 as invalid" do
    ['{"a": 1} {"b": 2}', "[\"\xFF\"]".b, "#{"[" * 101}#{"]" * 101}"].each do |text|
      expect(error_from { GazetteRunner.run_json(printing(text), timeout: 5) }).to be_a(GazetteRunner::InvalidJsonError)
    end
    expect(GazetteRunner.run_json(printing("#{"[" * 100}#{"]" * 100}"), timeout: 5).flatten).to eq([])
  end

  it "refuses hostile nesting without crashing" do
    deep = "[" * 100_000
    error = error_from { GazetteRunner.run_json(["cat"], stdin: deep, timeout: 10) }
    expect(error).to be_a(GazetteRunner::InvalidJsonError)
  end

  it "accepts a UTF-8 byte-order mark" do
    expect(GazetteRunner.run_json(printing("\uFEFF[1]"), timeout: 5)).to eq([1])
  end

  it "raises SchemaError listing every violation with its JSON pointer", :gc_stress do
    schema = { "type" => "object", "required" => ["n"],
               "properties" => { "n" => { "type" => "integer" }, "xs" => { "items" => { "type" => "string" } } } }
    error = error_from { GazetteRunner.run_json(printing('{"n": "1", "xs": ["a", 2]}'), schema:, timeout: 5) }
    expect(error).to be_a(GazetteRunner::SchemaError).and(be_a(GazetteRunner::OutputError))
    expect(error.errors.map(&:pointer)).to contain_exactly("/n", "/xs/1")
    expect(error.errors.map(&:message)).to all(be_a(String).and(satisfy { |m| !m.empty? }))
  end

  # From 256 KiB on, the schema is checked on a second thread while the Ruby
  # objects are built: the answers must be those of the small-document path.
  # Few, long strings keep it quick under GC.stress.
  context "with a schema, on a document large enough to be validated alongside" do
    let(:schema) { { "type" => "array", "items" => { "type" => "string", "maxLength" => 10_000 } } }
    let(:items) { Array.new(40) { |i| "#{i}-" + ("x" * 8_000) } }

    def run_on(text)
      Dir.mktmpdir("gazette-json") do |dir|
        path = File.join(dir, "doc.json")
        File.binwrite(path, text)
        error_from { return GazetteRunner.run_json(["cat", path], schema:, timeout: time_bound(10)) }
      end
    end

    it "returns what JSON.parse returns", :gc_stress do
      text = JSON.generate(items)
      expect(text.bytesize).to be > 256 * 1024
      expect(run_on(text)).to eq(JSON.parse(text))
    end

    it "lists the violations", :gc_stress do
      items[31] = "y" * 10_001
      items[7] = 7
      error = run_on(JSON.generate(items))
      expect(error).to be_a(GazetteRunner::SchemaError)
      expect(error.errors.map(&:pointer)).to contain_exactly("/7", "/31")
    end

    it "reports invalid JSON, not a schema verdict", :gc_stress do
      error = run_on("#{JSON.generate(items)} trailing")
      expect(error).to be_a(GazetteRunner::InvalidJsonError)
    end
  end

  it "takes the schema as JSON text too, and refuses an invalid schema before running" do
    expect(GazetteRunner.run_json(printing("[1]"), schema: '{"type": "array"}', timeout: 5)).to eq([1])
    expect { GazetteRunner.run_json(printing("[1]"), schema: '{"type": 12}', timeout: 5) }
      .to raise_error(ArgumentError, /Schema/)
    expect { GazetteRunner.run_json(printing("[1]"), schema: 12, timeout: 5) }.to raise_error(ArgumentError)
  end

  it "keeps the runner's errors first" do
    expect(error_from { GazetteRunner.run_json(%w[sleep 5], timeout: 0.2) }).to be_a(GazetteRunner::TimeoutError)
    expect(error_from { GazetteRunner.run_json(["yes"], max_output: 10, timeout: 5) })
      .to be_a(GazetteRunner::OutputLimitError)
  end
end
