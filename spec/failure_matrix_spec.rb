# frozen_string_literal: true

require "timeout"
require "tmpdir"

# One example per way a program (or its caller) can misbehave. Each asserts the
# same five things: the call returned within its bound, it ended with the right
# error (or Result), nothing is left alive in the program's process group, the
# test process has no zombie child, and no descriptor of the test process
# leaked. `rake bench` runs the same scenarios against the peers
# (bench/workloads/failure_matrix.rb).
#
# Every script writes its shell's pid, which is also its process-group id, to
# `pidfile` first, so the group is known even when the call raised without a
# Result (thread killed, Timeout.timeout).
RSpec.describe "failure matrix", :scratch_dir do
  fixtures = File.expand_path("fixtures", __dir__)
  margin = 1.5

  # name, bound (seconds the call may take), the call, what it must end with.
  # `ctx` gives `script(text)` (sh -c, pid recorded) and the temp paths.
  scenarios = [
    { name: "hangs (sleep 1000)", bound: 0.3,
      call: ->(ctx) { GazetteRunner.run(ctx.script("exec sleep 1000"), timeout: 0.3, kill_after: 0.3) },
      expect: ->(out) { out.is_a?(GazetteRunner::TimeoutError) && out.result.signal_name == "SIGTERM" } },
    { name: "ignores SIGTERM", bound: 0.6,
      call: lambda { |ctx|
        GazetteRunner.run(ctx.script("trap '' TERM; while :; do sleep 0.05; done"), timeout: 0.3, kill_after: 0.3)
      },
      expect: ->(out) { out.is_a?(GazetteRunner::TimeoutError) && out.result.signal_name == "SIGKILL" } },
    # A runner that counts only idle time towards its timeout never ends this one.
    { name: "hangs while writing to stderr every 5 ms", bound: 0.6,
      call: lambda { |ctx|
        GazetteRunner.run(ctx.script("while :; do echo working >&2; sleep 0.005; done"), timeout: 0.3, kill_after: 0.3)
      },
      expect: ->(out) { out.is_a?(GazetteRunner::TimeoutError) && out.result.stderr.start_with?("working\n") } },
    { name: "grandchild in the group holds the pipes", bound: 0.3,
      call: ->(ctx) { GazetteRunner.run(ctx.script("sleep 1000 & echo started"), timeout: 10, kill_after: 0.3) },
      expect: ->(out) { out.is_a?(GazetteRunner::Result) && out.success? && out.killed_leftovers? } },
    { name: "daemonised grandchild (setsid) holds the pipes", bound: 0.5,
      call: lambda { |ctx|
        GazetteRunner.run(ctx.script("exec #{fixtures}/daemonize.sh #{ctx.daemon_pidfile}"), timeout: 10,
                                                                                             kill_after: 0.3)
      },
      expect: ->(out) { out.is_a?(GazetteRunner::Result) && out.success? && out.stdout == "started\n" } },
    { name: "floods stderr (16 MiB) before its one line of stdout", bound: 10,
      call: ->(ctx) { GazetteRunner.run(ctx.script("head -c 16777216 /dev/zero >&2; echo done"), timeout: 10) },
      expect: lambda { |out|
        out.is_a?(GazetteRunner::Result) && out.success? && out.stdout == "done\n" && out.stderr.bytesize == 16 << 20
      } },
    { name: "floods stdout past max_output", bound: 5,
      call: ->(ctx) { GazetteRunner.run(ctx.script("exec yes"), timeout: 5, max_output: 1 << 20) },
      expect: lambda { |out|
        out.is_a?(GazetteRunner::OutputLimitError) && out.stream == :stdout && out.result.stdout.bytesize == 1 << 20
      } },
    { name: "reads stdin until EOF", bound: 5,
      call: ->(ctx) { GazetteRunner.run(ctx.script("cat > /dev/null; echo eof"), timeout: 5, stdin: "x" * 300_000) },
      expect: ->(out) { out.is_a?(GazetteRunner::Result) && out.success? && out.stdout == "eof\n" } },
    { name: "empty output (run_json)", bound: 5,
      call: ->(ctx) { GazetteRunner.run_json(ctx.script("true"), timeout: 5) },
      expect: ->(out) { out.is_a?(GazetteRunner::EmptyOutputError) } },
    { name: "invalid JSON (run_json)", bound: 5,
      call: ->(ctx) { GazetteRunner.run_json(ctx.script(%(echo '{"page_count": 40, "files": [')), timeout: 5) },
      expect: ->(out) { out.is_a?(GazetteRunner::InvalidJsonError) } },
    { name: "killed by a signal", bound: 5,
      call: ->(ctx) { GazetteRunner.run(ctx.script("kill -KILL $$"), timeout: 5) },
      expect: lambda { |out|
        out.is_a?(GazetteRunner::Result) && !out.success? && out.signal == 9 && out.exit_code.nil?
      } },
    { name: "missing program", bound: 5,
      call: ->(_ctx) { GazetteRunner.run(["/gazette/no-such-program"], timeout: 5) },
      expect: ->(out) { out.is_a?(GazetteRunner::SpawnError) && out.errno == Errno::ENOENT::Errno } },
    { name: "not executable", bound: 5,
      call: ->(_ctx) { GazetteRunner.run(["#{fixtures}/not_executable.sh"], timeout: 5) },
      expect: ->(out) { out.is_a?(GazetteRunner::SpawnError) && out.errno == Errno::EACCES::Errno } },
    { name: "chdir missing", bound: 5,
      call: ->(ctx) { GazetteRunner.run(ctx.script("true"), chdir: "/gazette/missing", timeout: 5) },
      expect: ->(out) { out.is_a?(GazetteRunner::SpawnError) && out.errno == Errno::ENOENT::Errno } },
    { name: "caller thread killed (Thread#kill) during the run", bound: 0.3 + 1,
      call: lambda { |ctx|
        thread = Thread.new { GazetteRunner.run(ctx.script("exec sleep 1000"), timeout: 30, kill_after: 5) }
        ctx.wait_for_start
        thread.kill
        thread.join(10) ? :thread_ended : :thread_still_running
      },
      expect: ->(out) { out == :thread_ended } },
    { name: "Timeout.timeout(0.3) around the call", bound: 0.3 + 1,
      call: lambda { |ctx|
        Timeout.timeout(0.3) do
          GazetteRunner.run(ctx.script("trap '' TERM; while :; do sleep 0.05; done"), timeout: 30, kill_after: 5)
        end
      },
      # Timeout's own error, not GazetteRunner's: the bound that passed was Timeout's.
      expect: ->(out) { out.instance_of?(Timeout::Error) } }
  ]

  def call_capturing(scenario, ctx)
    scenario[:call].call(ctx)
  rescue StandardError => e
    e
  end

  scenarios.each do |scenario|
    it "#{scenario[:name]}: bounded, right ending, group empty, no zombie, no descriptor leaked" do
      ctx = ProcessHelpers::ScriptContext.new(File.join(@dir, "pid"), File.join(@dir, "daemon"), self)
      GazetteRunner.run(["true"], timeout: 5) # lazily opened descriptors are opened before the count
      fds_before = open_fds
      outcome = nil
      took = elapsed { outcome = call_capturing(scenario, ctx) }
      pgid = pid_from(ctx.pidfile)

      expect(took).to be < time_bound(scenario[:bound] + margin)
      expect(scenario[:expect].call(outcome)).to be(true), "unexpected ending: #{outcome.inspect}"
      expect(live_group_members(pgid)).to be_empty if pgid
      expect(own_zombies).to be_empty
      expect(open_fds).to eq(fds_before)
      if scenario[:name].start_with?("daemonised")
        # The documented limit: a daemon leaves the group, and the kill, behind.
        expect(alive?(pid_from(ctx.daemon_pidfile))).to be(true)
      end
    ensure
      kill_group(pgid)
      kill_pid(ctx && pid_from(ctx.daemon_pidfile))
    end
  end
end
