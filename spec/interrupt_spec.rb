# frozen_string_literal: true

require "timeout"

# The bound as options (the full path), and no option at all: a plain run,
# one native call of its own (Native.run), which must keep the same guarantees.
module InterruptPaths
  FULL = { timeout: 30, kill_after: 5 }.freeze
  PLAIN = {}.freeze
  BOTH = { "with options" => FULL, "with no option (a plain run)" => PLAIN }.freeze
end

# When the calling thread is interrupted, the program's group is ended
# (SIGKILL within a second) and reaped before the exception propagates.
RSpec.describe "interrupting the caller" do
  # Starts a run in a thread and returns [thread, pid of the program] once it runs.
  def start_run(argv, options = InterruptPaths::FULL)
    expect_plain_runs if options.empty?
    thread = Thread.new do
      Thread.current.report_on_exception = false
      GazetteRunner.run(sh("echo $$ > #{@pidfile}; #{argv}"), **options)
    end
    [thread, eventually(within: 5) { File.size?(@pidfile) && Integer(File.read(@pidfile)) }]
  end

  around do |example|
    require "tmpdir"
    Dir.mktmpdir do |dir|
      @pidfile = File.join(dir, "pid")
      example.run
    end
  end

  InterruptPaths::BOTH.each do |path, options|
    it "ends the group, grandchildren that ignore SIGTERM too, before Thread#raise propagates, #{path}",
       :gc_stress do
      thread, pid = start_run("trap '' TERM; sleep 1000 & wait", options)
      took = elapsed do
        thread.raise(RuntimeError, "stop")
        expect { thread.join(5) }.to raise_error(RuntimeError, "stop")
      end
      expect(took).to be < time_bound(2.5)
      expect(live_group_members(pid)).to be_empty
      expect(own_zombies).to be_empty
      expect(GazetteRunner.running.map(&:pid)).not_to include(pid)
    end

    it "ends the group when the thread is killed, #{path}" do
      thread, pid = start_run("sleep 1000", options)
      thread.kill
      expect(thread.join(5)).to eq(thread)
      expect(alive?(pid)).to be(false)
    end

    it "ends the group when Timeout.timeout fires around the call, #{path}", :gc_stress do
      expect_plain_runs if options.empty?
      pid = nil
      took = elapsed do
        expect do
          Timeout.timeout(0.3) { GazetteRunner.run(sh("echo $$ > #{@pidfile}; exec sleep 1000"), **options) }
        end.to raise_error(Timeout::Error)
        pid = Integer(File.read(@pidfile))
      end
      expect(took).to be < time_bound(2.5)
      expect(alive?(pid)).to be(false)
    end
  end

  it "sends SIGKILL within a second to a group that ignores SIGTERM (Sidekiq's hard shutdown leaves ~3 s)" do
    thread, pid = start_run("trap '' TERM; while :; do sleep 0.05; done")
    took = elapsed do
      thread.raise(RuntimeError, "shutdown")
      expect { thread.join(5) }.to raise_error(RuntimeError)
    end
    expect(took).to be < time_bound(2.5)
    expect(alive?(pid)).to be(false)
  end

  # Every interrupt that arrives during the clean-up must be run too (here a
  # second Thread#raise); one left pending would make the wait spin forever
  # without giving up the GVL.
  it "finishes the clean-up when a second interrupt arrives during it" do
    thread, pid = start_run("trap '' TERM; while :; do sleep 0.05; done")
    thread.raise(RuntimeError, "first")
    sleep 0.2
    thread.raise(RuntimeError, "second")
    expect { thread.join(5) }.to raise_error(RuntimeError, "second")
    expect(thread.alive?).to be(false)
    expect(alive?(pid)).to be(false)
  end

  # Under GC.stress every round of interrupt handling allocates, collects and
  # sets a new interrupt, so Ruby never releases the GVL for the wait; the
  # loop must still progress with the GVL held instead of spinning forever.
  it "finishes a run while Ruby refuses every release of the GVL" do
    status, out, = run_ruby_child(<<~RUBY, within: 120)
      require "gazette_runner"
      options = Struct.new(:argv, :spawn_env, :clear_env, :chdir, :stdin, :kill_after, :max_output,
                           :memory_limit, :cpu_limit)
      call = options.new(["sh", "-c", "echo done"], [], false, nil, nil, 5.0, 1 << 20, nil, nil)
      GC.stress = true
      result = GazetteRunner::Native.execute(call, 30.0, nil, nil)
      GC.stress = false
      puts result.stdout
    RUBY
    expect(status).to be_success
    expect(out).to eq("done\n")
  end

  it "resumes waiting when the host merely traps a signal", :gc_stress do
    previous = trap("USR1") { nil }
    thread = Thread.new { GazetteRunner.run(sh("sleep 0.5; echo done"), timeout: 10) }
    eventually { thread.status == "sleep" }
    3.times do
      Process.kill(:USR1, Process.pid)
      sleep 0.05
    end
    expect(thread.join(5).value.stdout).to eq("done\n")
  ensure
    trap("USR1", previous || "DEFAULT")
  end

  it "kills every group still running when the host exits" do
    status, = run_ruby_child(<<~RUBY)
      require "gazette_runner"
      Thread.new { GazetteRunner.run(["sh", "-c", "trap '' TERM; echo $$ > #{@pidfile}; exec sleep 1000"], timeout: 600) }
      sleep 0.01 until File.size?("#{@pidfile}")
      exit 0
    RUBY
    expect(status).to be_success
    pid = Integer(File.read(@pidfile))
    expect(eventually { !alive?(pid) }).to be(true)
  end
end
