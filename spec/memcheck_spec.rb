# frozen_string_literal: true

require "json"

# What `rake memcheck` can still exercise under valgrind 3.19, which does not
# implement pidfd_open: every path through the binding that does not need to
# watch a running program. Parsing output (every answer of parse_json, with
# and without a schema), spawn errors, and a run that spawns (under valgrind it
# ends at pidfd_open: the program is killed and reaped, and SpawnError comes
# back). Fast, so it also runs with every `rspec`.
RSpec.describe "the binding's paths that valgrind can follow", :memcheck do
  def parse(text, schema: nil, symbolize_names: false)
    tag, *details = GazetteRunner::Native.parse_json(text, schema && JSON.generate(schema), symbolize_names)
    [tag, *details]
  end

  it "parses documents of every shape into Ruby objects, many times" do
    document = { "page_count" => 2**70, "files" => ["a", "é" * 40, nil, true, 1.5e300, -0.0, { "n" => [[[]]] }] }
    text = JSON.generate(document)
    200.times do
      expect(parse(text)).to eq([:ok, document])
      expect(parse(text, symbolize_names: true).last.keys).to eq(%i[page_count files])
    end
  end

  it "answers empty, invalid and schema-violating output" do
    schema = { "type" => "object", "required" => ["page_count"],
               "properties" => { "page_count" => { "type" => "integer", "minimum" => 0 } } }
    100.times do
      expect(parse(" \n").first).to eq(:empty)
      expect(parse(%({"page_count": 40, "files": [)).first).to eq(:invalid)
      expect(parse("\xff".b).first).to eq(:invalid)
      expect(parse(%({"page_count": -1}), schema:)).to match([:schema, [[String, String]], 1])
      expect(parse(%({"page_count": 3}), schema:)).to eq([:ok, { "page_count" => 3 }])
    end
  end

  it "raises SpawnError for a program that cannot start" do
    fixture = File.expand_path("fixtures/not_executable.sh", __dir__)
    50.times do
      expect { GazetteRunner.run(["/gazette/no-such-program"], timeout: 5) }.to raise_error(GazetteRunner::SpawnError)
      expect { GazetteRunner.run([fixture], timeout: 5) }.to raise_error(GazetteRunner::SpawnError)
      expect { GazetteRunner.run(["true"], chdir: "/gazette/missing", timeout: 5) }
        .to raise_error(GazetteRunner::SpawnError)
    end
  end

  it "spawns with stdin, environment and limits (under valgrind: abandoned at pidfd_open)" do
    20.times do
      result = GazetteRunner.run(["cat"], stdin: "x" * 70_000, env: { "GAZETTE_X" => "1", "HOME" => nil },
                                          memory_limit: 1 << 30, timeout: 5)
      expect(result.stdout.bytesize).to eq(70_000)
    rescue GazetteRunner::SpawnError => e
      raise unless ENV["GAZETTE_MEMCHECK"] == "1" && e.message.include?("pidfd_open")
    end
  end
end
