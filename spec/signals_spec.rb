# frozen_string_literal: true

RSpec.describe "the program's signal state" do
  def mask(field, result) = result.stdout[/^#{field}:\s*(\h+)/, 1].to_i(16)

  it "starts with default dispositions and an empty mask, whatever the host ignores or blocks" do
    # Ruby ignores SIGPIPE; a program inheriting that would never die of a closed pipe.
    result = GazetteRunner.run(["cat", "/proc/self/status"], timeout: 5)
    expect(mask("SigIgn", result)).to eq(0)
    expect(mask("SigBlk", result)).to eq(0)
  end

  it "lets `yes | head -1` end at once" do
    result = GazetteRunner.run(sh("yes | head -1"), timeout: 5)
    expect(result).to have_attributes(stdout: "y\n", exit_code: 0)
  end

  it "gives the limited spawn path the same clean signal state" do
    result = GazetteRunner.run(["cat", "/proc/self/status"], cpu_limit: 60, timeout: 5)
    expect(mask("SigIgn", result)).to eq(0)
    expect(mask("SigBlk", result)).to eq(0)
  end

  it "runs the program in a process group of its own" do
    result = GazetteRunner.run(sh("ps -o pgid= -p $$"), timeout: 5)
    expect(Integer(result.stdout)).to eq(result.pid)
    expect(result.pid).not_to eq(Process.getpgrp)
  end
end
