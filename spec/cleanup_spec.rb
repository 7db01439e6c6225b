# frozen_string_literal: true

RSpec.describe "nothing left behind" do
  it "ends the whole group, grandchildren included, on timeout", :gc_stress do
    error = nil
    begin
      GazetteRunner.run(sh("sleep 1000 & sleep 1000 & echo $!; wait"), timeout: 0.5)
    rescue GazetteRunner::TimeoutError => e
      error = e
    end
    grandchild = Integer(error.result.stdout)
    expect(live_group_members(error.result.pid)).to be_empty
    expect(alive?(grandchild)).to be(false)
  end

  it "leaves no zombie among the caller's children" do
    GazetteRunner.run(["true"], timeout: 5)
    begin
      GazetteRunner.run(%w[sleep 10], timeout: 0.2)
    rescue GazetteRunner::TimeoutError
      nil
    end
    expect(own_zombies).to be_empty
  end

  it "leaves no descriptor of the caller open, on success, timeout, output limit and spawn error" do
    GazetteRunner.run(["true"], timeout: 5) # warm up lazily opened descriptors
    before = open_fds
    GazetteRunner.run(%w[echo x], timeout: 5, stdin: "in")
    [
      -> { GazetteRunner.run(%w[sleep 10], timeout: 0.2) },
      -> { GazetteRunner.run(["yes"], max_output: 10, timeout: 5) },
      -> { GazetteRunner.run(["gazette-no-such-program"], timeout: 5) },
      -> { GazetteRunner.run(["true"], chdir: "/gazette/missing", timeout: 5) }
    ].each do |call|
      call.call
    rescue GazetteRunner::Error
      nil
    end
    expect(open_fds).to eq(before)
  end

  it "passes the program no descriptor but 0, 1 and 2, even ones opened without close-on-exec" do
    leaky = IO.sysopen(File::NULL)
    IO.for_fd(leaky, autoclose: false).close_on_exec = false
    result = GazetteRunner.run(["ls", "/proc/self/fd"], timeout: 5)
    # ls itself opens one descriptor to read the directory.
    expect(result.stdout.split.map(&:to_i) - [0, 1, 2]).to contain_exactly(be > 2)
    expect(result.stdout.split.map(&:to_i)).not_to include(leaky)
  ensure
    IO.for_fd(leaky).close if leaky
  end

  it "gives the limited spawn path the same descriptor hygiene" do
    result = GazetteRunner.run(["ls", "/proc/self/fd"], memory_limit: 1 << 30, timeout: 5)
    expect(result.stdout.split.size).to eq(4)
  end
end
