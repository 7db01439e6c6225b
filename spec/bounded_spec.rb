# frozen_string_literal: true

# A call returns within timeout + kill_after plus a small margin, whatever the
# program does. The margins are generous: the machines are noisy, and what is
# asserted is "bounded", not "fast" (speed lives in bench/).
RSpec.describe "bounded runs" do
  let(:margin) { 1.5 }

  def expect_timeout(argv, timeout:, kill_after: 5, **options)
    error = nil
    took = elapsed do
      GazetteRunner.run(argv, timeout:, kill_after:, **options)
    rescue GazetteRunner::TimeoutError => e
      error = e
    end
    expect(error).to be_a(GazetteRunner::TimeoutError)
    expect(took).to be < timeout + kill_after + margin
    expect(live_group_members(error.result.pid)).to be_empty
    error
  end

  it "ends a program that sleeps forever with SIGTERM" do
    error = expect_timeout(%w[sleep 1000], timeout: 0.3)
    expect(error.result.signal_name).to eq("SIGTERM")
  end

  it "ends a program that ignores SIGTERM with SIGKILL after kill_after" do
    error = expect_timeout(sh("trap '' TERM; echo ready; while :; do sleep 0.05; done"), timeout: 0.3, kill_after: 0.3)
    expect(error.result.signal_name).to eq("SIGKILL")
    expect(error.result.stdout).to eq("ready\n")
  end

  it "reads stdout and stderr concurrently, so flooding both cannot deadlock" do
    script = "head -c 5000000 /dev/zero; head -c 5000000 /dev/zero >&2; head -c 5000000 /dev/zero"
    result = GazetteRunner.run(sh(script), timeout: 20)
    expect([result.stdout.bytesize, result.stderr.bytesize]).to eq([10_000_000, 5_000_000])
  end

  it "bounds a program that floods stderr without end" do
    expect_timeout(["sh", "-c", "exec yes >&2"], timeout: 0.3, max_output: 1 << 30)
  end

  it "bounds a program that never reads the stdin it is given" do
    expect_timeout(%w[sleep 1000], timeout: 0.3, stdin: "x" * (4 << 20))
  end

  it "bounds a program that reads stdin forever" do
    expect_timeout(sh("cat > /dev/null; sleep 1000"), timeout: 0.3, stdin: "data")
  end

  it "returns when the program exits while a grandchild in its group keeps the pipes open" do
    result = nil
    took = elapsed { result = GazetteRunner.run(sh("sleep 1000 & echo $!"), timeout: 10, kill_after: 0.5) }
    grandchild = Integer(result.stdout)
    expect(took).to be < 0.5 + margin
    expect(result.success?).to be(true)
    expect(result.killed_leftovers?).to be(true)
    expect(eventually { !alive?(grandchild) }).to be(true)
  end

  it "returns within its bound when a setsid daemon (outside the group) holds the pipes" do
    require "tmpdir"
    Dir.mktmpdir do |dir|
      pidfile = File.join(dir, "daemon")
      fds_before = open_fds
      # The daemon writes its pid only once it has its own session; the
      # program waits for that, then hangs until the timeout ends its group.
      script = "setsid sh -c 'echo $$ > #{pidfile}; exec sleep 5' & " \
               "while [ ! -s #{pidfile} ]; do sleep 0.01; done; exec sleep 1000"
      took = elapsed do
        GazetteRunner.run(sh(script), timeout: 0.5, kill_after: 0.2)
      rescue GazetteRunner::TimeoutError
        nil
      end
      expect(took).to be < 0.5 + 0.2 + margin
      expect(open_fds).to eq(fds_before)
      daemon = Integer(File.read(pidfile))
      expect(alive?(daemon)).to be(true) # the documented limit: it lives on
      Process.kill(:KILL, daemon)
    end
  end
end
