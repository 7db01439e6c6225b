# frozen_string_literal: true

RSpec.describe "resource limits" do
  it "applies memory_limit as RLIMIT_AS", :gc_stress do
    result = GazetteRunner.run(sh("ulimit -v"), memory_limit: 200 * 1024 * 1024, timeout: 5)
    expect(result.stdout).to eq("#{200 * 1024}\n")
  end

  it "makes allocations past memory_limit fail" do
    grow = "import sys\ntry:\n    b = bytearray(400 * 1024 * 1024)\nexcept MemoryError:\n    sys.exit(42)\n"
    result = GazetteRunner.run(["python3", "-c", grow], memory_limit: 200 * 1024 * 1024, timeout: 20)
    expect(result.exit_code).to eq(42)
  end

  it "applies cpu_limit as RLIMIT_CPU, which ends a spinning program" do
    result = GazetteRunner.run(sh("ulimit -t; while :; do :; done"), cpu_limit: 1, timeout: 20)
    expect(result.stdout).to eq("1\n")
    expect(result.signal_name).to eq("SIGXCPU").or eq("SIGKILL")
  end

  it "fails visibly, not by hanging, when the program cannot even load under memory_limit" do
    result = GazetteRunner.run(["true"], memory_limit: 4096, timeout: 5)
    expect(result.success?).to be(false)
  end
end
