# frozen_string_literal: true

RSpec.describe "GazetteRunner.run results" do
  it "returns stdout, stderr, exit code, pid, duration and peak memory", :gc_stress do
    result = GazetteRunner.run(sh("echo out; echo err >&2; exit 3"), timeout: 5)
    expect(result).to have_attributes(stdout: "out\n", stderr: "err\n", exit_code: 3, signal: nil,
                                      ending: :natural)
    expect(result.success?).to be(false)
    expect(result.pid).to be_a(Integer)
    expect(result.duration).to be_a(Float).and(be >= 0)
    expect(result.max_rss).to be_a(Integer).and(be > 0)
    expect(result.argv).to eq(sh("echo out; echo err >&2; exit 3"))
  end

  it "is the same object whether a run or Result.new builds it", :gc_stress do
    expect_plain_runs
    plain = GazetteRunner.run(sh("echo out; echo err >&2; exit 3"))
    full = GazetteRunner.run(sh("echo out; echo err >&2; exit 3"), timeout: 5)
    fields = lambda do |result|
      result.instance_variables.to_h do |ivar|
        [ivar.to_s.delete_prefix("@").to_sym, result.instance_variable_get(ivar)]
      end
    end
    [plain, full].each do |result|
      copy = GazetteRunner::Result.new(**fields.call(result))
      expect(result.instance_variables).to eq(copy.instance_variables)
      expect(fields.call(result)).to eq(fields.call(copy))
    end
    expect(plain).to have_attributes(stdout: "out\n", stderr: "err\n", exit_code: 3, ending: :natural)
  end

  it "is frozen, with frozen strings in Encoding.default_external" do
    result = GazetteRunner.run(%w[echo hi], timeout: 5)
    expect(result).to be_frozen
    expect([result.stdout, result.stderr, result.argv]).to all(be_frozen)
    expect(result.stdout.encoding).to eq(Encoding.default_external)
    expect(result.success?).to be(true)
    plain = GazetteRunner.run(["echo", +"hi"]) # an unfrozen argument is copied, frozen
    expect([plain, plain.stdout, plain.stderr, plain.argv, *plain.argv]).to all(be_frozen)
    expect(plain.stdout.encoding).to eq(Encoding.default_external)
  end

  it "reports the signal that ended the program" do
    result = GazetteRunner.run(sh("kill -KILL $$"), timeout: 5)
    expect(result).to have_attributes(exit_code: nil, signal: 9, signal_name: "SIGKILL")
    expect(result.signaled?).to be(true)
    expect(result.success?).to be(false)
  end

  it "runs no shell: metacharacters reach the program verbatim" do
    expect(GazetteRunner.run(["echo", "$(id)", "a;b", "*"], timeout: 5).stdout).to eq("$(id) a;b *\n")
  end

  it "brings binary and invalid UTF-8 output back byte for byte", :gc_stress do
    bytes = (0..255).map(&:chr).join.b * 3
    result = GazetteRunner.run(["cat"], stdin: bytes, timeout: 5)
    expect(result.stdout.b).to eq(bytes)
  end

  it "feeds stdin of any size without deadlock while the program floods stdout" do
    input = "x" * (8 * 1024 * 1024)
    result = GazetteRunner.run(["cat"], stdin: input, timeout: 20)
    expect(result.stdout.bytesize).to eq(input.bytesize)
  end

  it "gives the program /dev/null as stdin by default, so reading it sees end of file" do
    result = GazetteRunner.run(["cat"], timeout: 5)
    expect(result).to have_attributes(stdout: "", exit_code: 0)
  end

  it "merges env over ENV, unsets nil values, and clears with clear_env:", :gc_stress do
    ENV["GAZETTE_SPEC_INHERITED"] = "yes"
    merged = GazetteRunner.run(sh('echo "$GAZETTE_SPEC_INHERITED/$ADDED/${HOME-unset}"'),
                               env: { "ADDED" => "a", "HOME" => nil }, timeout: 5)
    expect(merged.stdout).to eq("yes/a/unset\n")
    cleared = GazetteRunner.run(["/usr/bin/env"], env: { "ONLY" => "1" }, clear_env: true, timeout: 5)
    expect(cleared.stdout).to eq("ONLY=1\n")
  ensure
    ENV.delete("GAZETTE_SPEC_INHERITED")
  end

  it "looks the program up in the program's own PATH" do
    result = GazetteRunner.run(["true"], env: { "PATH" => "/nonexistent:/bin" }, timeout: 5)
    expect(result.success?).to be(true)
  end

  it "runs in chdir:, accepting Pathname" do
    require "pathname"
    result = GazetteRunner.run(["pwd"], chdir: Pathname("/tmp"), timeout: 5)
    expect(result.stdout).to eq("/tmp\n")
  end

  it "returns large output exactly" do
    size = 100 * 1024 * 1024
    result = GazetteRunner.run(["head", "-c", size.to_s, "/dev/zero"], max_output: size, timeout: 60)
    expect(result.stdout.bytesize).to eq(size)
    expect(result.stdout.count("\0")).to eq(size)
  end

  it "accepts argv elements that respond to to_path or to_str", :gc_stress do
    require "pathname"
    word = Object.new
    def word.to_str = "spoken"
    expect(GazetteRunner.run([Pathname("/bin/echo"), word], timeout: 5).stdout).to eq("spoken\n")
  end
end
