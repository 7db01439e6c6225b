# frozen_string_literal: true

require "json"
require "rbconfig"
require "gazette_runner/testing/rspec"

RSpec.describe GazetteRunner::Testing, :scratch_dir do
  slicer = ["python3", /slice_gazette\.py\z/].freeze

  it "answers a matching run with the stub's result and spawns nothing" do
    marker = File.join(@dir, "ran")
    described_class.stub_run(["sh", "-c", /touch/], stdout: "sliced\n", stderr: "warn\n")
    result = GazetteRunner.run(["sh", "-c", "touch #{marker}"], timeout: 5)

    expect(result).to have_attributes(success?: true, exit_code: 0, stdout: "sliced\n", stderr: "warn\n")
    expect(result.argv).to eq(["sh", "-c", "touch #{marker}"])
    expect(File).not_to exist(marker)
  end

  it "puts the stubbed result through each method's real checks" do
    described_class.stub_run(%w[failing], exit_code: 2, stderr: "Traceback: KeyError\n")
    described_class.stub_run(%w[json], stdout: %({"page_count": 3}))
    described_class.stub_run(%w[killed], signal: "KILL")

    expect(GazetteRunner.run(%w[failing]).exit_code).to eq(2)
    expect { GazetteRunner.run!(%w[failing]) }
      .to raise_error(GazetteRunner::ExitError, "failing exited with 2; stderr: Traceback: KeyError")
    expect { GazetteRunner.run!(%w[killed]) }.to raise_error(GazetteRunner::ExitError, /was killed by SIGKILL/)
    expect(GazetteRunner.run_json(%w[json], symbolize_names: true)).to eq(page_count: 3)
    expect { GazetteRunner.run_json(%w[json], schema: { "required" => ["files"] }) }
      .to raise_error(GazetteRunner::SchemaError, /files/)
  end

  it "answers the commands of run_all, each through run!'s checks" do
    described_class.stub_run(%w[chunk 1], stdout: "pages 1-10")
    described_class.stub_run(%w[chunk 2], exit_code: 1)

    expect(GazetteRunner.run_all([%w[chunk 1]]).map(&:stdout)).to eq(["pages 1-10"])
    expect { GazetteRunner.run_all([%w[chunk 1], %w[chunk 2]]) }
      .to(raise_error(GazetteRunner::BatchError) { |e| expect(e.fates.map(&:state)).to eq(%i[succeeded failed]) })
  end

  it "runs slice_gazette's contract against the files the test made" do
    File.write(File.join(@dir, "page-1.pdf"), "%PDF")
    answer = JSON.generate("page_count" => 1, "files" => ["page-1.pdf"])
    described_class.stub_run(slicer, stdout: answer)

    slices = GazetteRunner.slice_gazette(["python3", "script/slice_gazette.py"], output_dir: @dir)
    expect(slices.files).to eq([File.join(@dir, "page-1.pdf")])
    File.delete(File.join(@dir, "page-1.pdf"))
    expect { GazetteRunner.slice_gazette(["python3", "script/slice_gazette.py"], output_dir: @dir) }
      .to raise_error(GazetteRunner::SchemaError)
  end

  GazetteRunner::Event::ERROR_OUTCOMES.each do |klass, outcome|
    it "raises #{klass.name.split("::").last} for raises: :#{outcome} and for raises: #{klass.name}" do
      [outcome, klass].each do |raises|
        described_class.stub_run(%w[slicer], raises:)
        error = error_from { GazetteRunner.run(%w[slicer in.pdf], timeout: 3, max_output: 10) }
        expect(error).to be_a(klass)
        expect(error.outcome).to eq(outcome)
        expect(error.message).to include("slicer").or include("stubbed")
      end
    end
  end

  it "raises any other exception as given" do
    described_class.stub_run(%w[slicer], raises: Errno::ENOMEM.new("fork"))
    expect { GazetteRunner.run(%w[slicer]) }.to raise_error(Errno::ENOMEM, /fork/)
    described_class.stub_run(%w[slicer], raises: IOError)
    expect { GazetteRunner.run(%w[slicer]) }.to raise_error(IOError)
  end

  it "feeds on_stdout, on_stderr and on_progress before answering" do
    seen = []
    described_class.stub_run(slicer, stdout: "a\nb\n", stderr: "w\n", progress: [[10, "page 1"], [100, nil]])
    GazetteRunner.run(["python3", "slice_gazette.py"], on_stdout: ->(line) { seen << [:out, line] },
                                                       on_stderr: ->(line) { seen << [:err, line] },
                                                       on_progress: ->(progress) { seen << progress.to_s })
    expect(seen).to eq([[:out, "a"], [:out, "b"], [:err, "w"], "10% page 1", "100%"])
  end

  it "matches Arrays as argv prefixes by ===, Regexps against argv joined, callables given argv; the latest wins" do
    described_class.stub_run([], stdout: "any")
    described_class.stub_run(/--in \S+\.pdf/, stdout: "regexp")
    described_class.stub_run(->(argv) { argv.size == 4 }, stdout: "callable")
    described_class.stub_run(["python3", String, "--in"], stdout: "array")

    expect(GazetteRunner.run(%w[python3 x.py --in a.pdf]).stdout).to eq("array")
    expect(GazetteRunner.run(%w[python3 --in a.pdf y]).stdout).to eq("callable")
    expect(GazetteRunner.run(%w[ruby --in b.pdf]).stdout).to eq("regexp")
    expect(GazetteRunner.run(%w[true]).stdout).to eq("any")
  end

  it "refuses a bad pattern or response" do
    expect { described_class.stub_run("python3") }.to raise_error(ArgumentError, /pattern is an Array, a Regexp/)
    expect { described_class.stub_run([], raises: :teapot) }.to raise_error(ArgumentError, /raises: takes one of/)
    expect { described_class.stub_run([], signal: "SIGNOPE") }.to raise_error(ArgumentError, /unknown signal/)
    expect { described_class.stub_run([], colour: "red") }.to raise_error(ArgumentError, /unknown keyword: :colour/)
  end

  it "still checks the run's options and argv" do
    described_class.stub_run([])
    expect { GazetteRunner.run(%w[slicer], timout: 5) }.to raise_error(ArgumentError, "unknown keyword: :timout")
    expect { GazetteRunner.run("slicer in.pdf") }.to raise_error(ArgumentError, /argv must be an Array/)
  end

  it "raises UnstubbedRunError for a run no stub matches, and records every call" do
    described_class.stub_run(slicer, stdout: "{}")
    GazetteRunner.run_json(["python3", "slice_gazette.py"], timeout: 9)
    expect { GazetteRunner.run(%w[rm -rf /tmp/x]) }
      .to raise_error(GazetteRunner::Testing::UnstubbedRunError, %r{no stub matches \["rm", "-rf", "/tmp/x"\]})
    expect(described_class.calls.map { |call| [call.argv, call.options, call.stubbed?] })
      .to eq([[%w[python3 slice_gazette.py], { timeout: 9 }, true], [%w[rm -rf /tmp/x], {}, false]])
  end

  it "runs for real what no stub matches when allowed, and not at all after reset!" do
    described_class.enable!(allow_real_runs: true)
    described_class.stub_run(%w[echo stubbed], stdout: "fake\n")
    expect(GazetteRunner.run(%w[echo real]).stdout).to eq("real\n")
    expect(GazetteRunner.run(%w[echo stubbed]).stdout).to eq("fake\n")
    described_class.reset!
    expect(described_class).not_to be_enabled
    expect(GazetteRunner.run(%w[echo stubbed]).stdout).to eq("stubbed\n")
    expect(described_class.calls).to eq([])
  end

  it "answers health checks too" do
    described_class.stub_run(%w[pdfinfo], stdout: "Pages: 3\n")
    expect(GazetteRunner.health(%w[pdfinfo -v], expect: /Pages/)).to be_healthy
    described_class.stub_run(%w[pdfinfo], raises: :timeout)
    expect(GazetteRunner.health(%w[pdfinfo -v]).outcome).to eq(:timeout)
  end

  describe "RSpec helpers" do
    it "stubs, records and matches runs" do
      stub_gazette_run(slicer, stdout: "{}")
      expect { GazetteRunner.run_json(["python3", "slice_gazette.py"]) }.to make_gazette_run(slicer)
      expect { GazetteRunner.run(["python3", "slice_gazette.py"]) }.to make_gazette_run(slicer, times: 1)
      expect { nil }.not_to make_gazette_run(slicer)
      expect(gazette_runs.size).to eq(2)
    end

    it "says what the block ran when it fails" do
      block_gazette_runs!
      stub_gazette_run(%w[pdfinfo])
      message = %(expected a run matching ["python3", /slice_gazette\\.py\\z/], the block made: [["pdfinfo", "x"]])
      expect { expect { GazetteRunner.run(%w[pdfinfo x]) }.to make_gazette_run(slicer) }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, message)
    end

    it "resets the stubs after each example" do
      spec = File.join(@dir, "reset_spec.rb")
      File.write(spec, <<~RUBY)
        require "gazette_runner/testing/rspec"
        RSpec.describe "two examples" do
          it "stubs" do
            stub_gazette_run(%w[echo], stdout: "fake")
            expect(GazetteRunner.run(%w[echo x]).stdout).to eq("fake")
          end

          it "runs for real" do
            expect(GazetteRunner.run(%w[echo x]).stdout).to eq("x\\n")
          end
        end
      RUBY
      status, out, err = run_ruby_child(<<~RUBY, within: 30)
        require "rspec/core"
        exit RSpec::Core::Runner.run([#{spec.dump}, "--order", "defined", "--no-color"])
      RUBY
      expect(status).to be_success, out + err
      expect(out).to include("2 examples, 0 failures")
    end
  end
end
