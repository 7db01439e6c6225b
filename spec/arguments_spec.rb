# frozen_string_literal: true

RSpec.describe "GazetteRunner.run argument checks" do
  it "refuses a String argv: there is no shell" do
    expect { GazetteRunner.run("echo hi") }.to raise_error(ArgumentError, /Array.*no shell/)
  end

  it "refuses an empty argv" do
    expect { GazetteRunner.run([]) }.to raise_error(ArgumentError, /name a program/)
  end

  it "refuses NUL bytes in argv, env and chdir" do
    expect { GazetteRunner.run(["echo", "a\0b"]) }.to raise_error(ArgumentError, /NUL/)
    expect { GazetteRunner.run(["true"], env: { "A" => "\0" }) }.to raise_error(ArgumentError, /NUL/)
    expect { GazetteRunner.run(["true"], chdir: "/t\0mp") }.to raise_error(ArgumentError, /NUL/)
  end

  it "refuses non-string argv elements" do
    expect { GazetteRunner.run(["echo", 1]) }.to raise_error(ArgumentError, /must be a String/)
  end

  it "has no way to run unbounded" do
    [nil, 0, -1, Float::INFINITY, Float::NAN, "5"].each do |bad|
      expect { GazetteRunner.run(["true"], timeout: bad) }.to raise_error(ArgumentError, /timeout/)
    end
  end

  it "defaults the bound to default_timeout, which refuses unbounded values too" do
    expect(GazetteRunner.default_timeout).to eq(60)
    expect { GazetteRunner.default_timeout = nil }.to raise_error(ArgumentError)
    GazetteRunner.default_timeout = 0.2
    expect { GazetteRunner.run(%w[sleep 5]) }.to raise_error(GazetteRunner::TimeoutError)
  ensure
    GazetteRunner.default_timeout = 60
  end

  it "refuses bad env names, max_output and limits" do
    expect { GazetteRunner.run(["true"], env: { "A=B" => "1" }) }.to raise_error(ArgumentError, /env name/)
    expect { GazetteRunner.run(["true"], env: "A=1") }.to raise_error(ArgumentError, /Hash/)
    expect { GazetteRunner.run(["true"], max_output: 0) }.to raise_error(ArgumentError, /max_output/)
    expect { GazetteRunner.run(["true"], memory_limit: -1) }.to raise_error(ArgumentError, /memory_limit/)
    expect { GazetteRunner.run(["true"], kill_after: -1) }.to raise_error(ArgumentError, /kill_after/)
  end
end
