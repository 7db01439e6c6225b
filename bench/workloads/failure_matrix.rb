# frozen_string_literal: true

require "json"
require "timeout"
require "tmpdir"
require_relative "../contenders"
require_relative "../support"

module Bench
  # The scenarios of the failure matrix (row 8) and the answers they call for.
  module FailureScenarios
    SESSION = File.expand_path("../matrix/session", __dir__)
    DAEMONIZE = File.expand_path("../../spec/fixtures/daemonize.sh", __dir__)
    NOT_EXECUTABLE = File.expand_path("../../spec/fixtures/not_executable.sh", __dir__)
    TIMEOUT = 0.5
    KILL_AFTER = 0.5
    # The timeout given where the program should finish on its own: a runner
    # that waits for it anyway shows up as late.
    LONG_TIMEOUT = 2.0
    MARGIN = 0.5
    CAP = 6.0
    FLOOD = 64 << 20
    CAP_BYTES = 1 << 20
    STDERR_BYTES = 16 << 20

    # `script` runs under sh -c (through SESSION) unless `argv` is given;
    # DAEMONFILE in it is replaced by the daemon's pid file. `bound` is in
    # seconds from the call (from Thread#kill for :thread_kill).
    Scenario = Struct.new(:name, :script, :argv, :bound, :expect, :timeout, :mode, :chdir, :json, :stdout,
                          keyword_init: true) do
      def timeout = self[:timeout] || LONG_TIMEOUT
      def mode = self[:mode] || :call
    end

    # What a run returned, in one shape for every contender.
    Reply = Struct.new(:exit_code, :signal, :stdout, :stderr, keyword_init: true)
    Cell = Struct.new(:verdict, :seconds, keyword_init: true)

    SCENARIOS = [
      Scenario.new(name: "hangs (`sleep 1000`)", script: "exec sleep 1000", timeout: TIMEOUT,
                   bound: TIMEOUT + KILL_AFTER, expect: :timeout),
      Scenario.new(name: "ignores SIGTERM", script: "trap '' TERM; while :; do sleep 0.05; done", timeout: TIMEOUT,
                   bound: TIMEOUT + KILL_AFTER, expect: :timeout),
      Scenario.new(name: "hangs, writing a line to stderr every 5 ms",
                   script: "while :; do echo working >&2; sleep 0.005; done", timeout: TIMEOUT,
                   bound: TIMEOUT + KILL_AFTER, expect: :timeout),
      Scenario.new(name: "exits 0; a grandchild in its group holds the pipes", script: "sleep 1000 & echo started",
                   bound: KILL_AFTER, expect: :success, stdout: "started\n"),
      Scenario.new(name: "exits 0; a setsid daemon holds the pipes", script: "exec #{DAEMONIZE} DAEMONFILE",
                   bound: KILL_AFTER, expect: :success, stdout: "started\n"),
      Scenario.new(name: "16 MiB to stderr, then a line to stdout",
                   script: "head -c #{STDERR_BYTES} /dev/zero >&2; echo done", bound: 1.0, expect: :success,
                   stdout: "done\n"),
      Scenario.new(name: "64 MiB to stdout (cap 1 MiB where there is one)",
                   script: "exec head -c #{FLOOD} /dev/zero", bound: 1.0, expect: :output_limit),
      Scenario.new(name: "reads stdin until EOF (the host's stdin stays open)", script: "cat > /dev/null; echo eof",
                   bound: 0.5, expect: :success, stdout: "eof\n"),
      Scenario.new(name: "empty output, parsed as JSON", script: "true", bound: 0.5, expect: :json_error, json: true),
      Scenario.new(name: "invalid JSON", script: %(echo '{"page_count": 40, "files": ['), bound: 0.5,
                   expect: :json_error, json: true),
      Scenario.new(name: "killed by SIGKILL", script: "kill -KILL $$", bound: 0.5, expect: :signal),
      Scenario.new(name: "missing program", argv: ["/gazette/no-such-program"], bound: 0.5, expect: :spawn_failure),
      Scenario.new(name: "not executable", argv: [NOT_EXECUTABLE], bound: 0.5, expect: :spawn_failure),
      Scenario.new(name: "chdir missing", script: "true", chdir: "/gazette/missing", bound: 0.5,
                   expect: :spawn_failure),
      Scenario.new(name: "caller thread killed (Thread#kill)", script: "exec sleep 1000", timeout: 30, bound: 1.0,
                   expect: :thread_ended, mode: :thread_kill),
      Scenario.new(name: "`Timeout.timeout(0.5)` around the call", timeout: 30,
                   script: "trap '' TERM; while :; do sleep 0.05; done", bound: 0.5 + 1.0, expect: :timeout_error,
                   mode: :timeout_around)
    ].freeze

    TIMEOUT_ERRORS = [GazetteRunner::TimeoutError, POSIX::Spawn::TimeoutExceeded, Timeout::Error,
                      Mixlib::ShellOut::CommandTimeout, TTY::Command::TimeoutExceeded,
                      ChildProcess::TimeoutError].freeze
    SPAWN_ERRORS = [GazetteRunner::SpawnError, SystemCallError, ChildProcess::LaunchError].freeze
    LIMIT_ERRORS = [GazetteRunner::OutputLimitError, POSIX::Spawn::MaximumOutputExceeded].freeze
    JSON_ERRORS = [GazetteRunner::OutputError, JSON::ParserError].freeze
  end

  # How each contender is called: its own timeout (or Timeout.timeout), its
  # own group kill where it has one (posix-spawn's pgroup_kill, ChildProcess's
  # leader), its own output cap where it has one.
  module MatrixCall
    include FailureScenarios

    module_function

    def gazette_runner(argv, timeout:, chdir:, json:, cap:)
      options = { timeout:, kill_after: KILL_AFTER, chdir: }
      return GazetteRunner.run_json(argv, **options) if json

      result = GazetteRunner.run(argv, **options, max_output: cap || GazetteRunner::DEFAULT_MAX_OUTPUT)
      Reply.new(exit_code: result.exit_code, signal: result.signal, stdout: result.stdout, stderr: result.stderr)
    end

    def posix_spawn(argv, timeout:, chdir:, cap:, **)
      options = { timeout:, pgroup_kill: true, max: cap }
      options[:chdir] = chdir if chdir
      status_reply(POSIX::Spawn::Child.new(*argv, **options).then { |c| [c.status, c.out, c.err] })
    end

    def open3(argv, timeout:, chdir:, **)
      options = chdir ? { chdir: } : {}
      stdout, stderr, status = Timeout.timeout(timeout) { Open3.capture3(*argv, **options) }
      status_reply([status, stdout, stderr])
    end

    def backticks(argv, timeout:, **)
      stdout = Timeout.timeout(timeout) { `#{argv.shelljoin}` }
      status_reply([$CHILD_STATUS, stdout, nil])
    end

    def mixlib(argv, timeout:, chdir:, **)
      shell = Mixlib::ShellOut.new(*argv, timeout:, cwd: chdir)
      shell.run_command
      status_reply([shell.status, shell.stdout, shell.stderr])
    end

    # TTY::Command reports a death by signal as that number in exit_status.
    def tty_command(argv, timeout:, chdir:, **)
      options = chdir ? { timeout:, chdir: } : { timeout: }
      result = TTY_COMMAND.run!(argv.shelljoin, **options)
      Reply.new(exit_code: result.exit_status, stdout: result.out, stderr: result.err)
    end

    # So does ChildProcess, in exit_code.
    def childprocess(argv, timeout:, chdir:, **)
      code, stdout, stderr = ChildProcessRun.call(argv, timeout:, kill_after: KILL_AFTER, chdir:, leader: true)
      Reply.new(exit_code: code, stdout:, stderr:)
    end

    def status_reply((status, stdout, stderr))
      Reply.new(exit_code: status&.exitstatus, signal: status&.termsig, stdout:, stderr:)
    end
  end

  # Whether a cell of the matrix went right, in words: what is wrong, or nothing.
  module MatrixVerdict
    include FailureScenarios

    module_function

    def problems(scenario, key, outcome, seconds, finished)
      late = if !finished then ["hung (still blocked at the #{CAP.round} s cap)"]
             elsif seconds > scenario.bound + MARGIN
               ["hung (returned after #{format("%.1f", seconds)} s, bound #{scenario.bound} s)"]
             else
               []
             end
      late + (finished ? Array(ending_problem(scenario, key, outcome)) : [])
    end

    # Descriptors still open after the call are counted again after GC.start:
    # an IO object dropped unclosed is closed by its finalizer, eventually.
    def leftovers(left, zombies, leaked)
      [("left #{left.size} process#{"es" if left.size > 1} alive" unless left.empty?),
       ("left #{zombies.size} zombie#{"s" if zombies.size > 1}" unless zombies.empty?),
       fd_leak(leaked)].compact
    end

    def fd_leak(leaked)
      return nil unless leaked.positive?

      before_gc = Bench.open_fds.size
      GC.start
      kept = leaked - (before_gc - Bench.open_fds.size)
      kept.positive? ? "leaked #{leaked} fd (#{kept} after GC)" : "leaked #{leaked} fd (until GC)"
    end

    # @return [String, nil] what is wrong with how the call ended, or nil
    def ending_problem(scenario, key, outcome)
      public_send(:"#{scenario.expect}_problem", scenario, key, outcome)
    end

    def timeout_problem(_, _, outcome) = TIMEOUT_ERRORS.any? { |c| outcome.is_a?(c) } ? nil : wrong(outcome)
    def timeout_error_problem(_, _, outcome) = outcome.is_a?(Timeout::Error) ? nil : wrong(outcome)
    def thread_ended_problem(_, _, outcome) = outcome == :thread_ended ? nil : "thread still running"

    def json_error_problem(_, _, outcome)
      JSON_ERRORS.any? { |c| outcome.is_a?(c) } ? nil : "lies: parsed #{outcome.inspect[0, 40]}"
    end

    def success_problem(scenario, key, outcome)
      return wrong(outcome) unless outcome.is_a?(Reply) && outcome.exit_code&.zero? && outcome.stdout == scenario.stdout
      return nil unless scenario.script.include?(">&2")

      key == :backticks ? "stderr not captured" : stderr_problem(outcome)
    end

    def stderr_problem(reply)
      kept = reply.stderr.bytesize
      kept == STDERR_BYTES ? nil : "lost stderr (kept #{kept} of #{STDERR_BYTES} bytes, no error)"
    end

    def output_limit_problem(_, _, outcome)
      return nil if LIMIT_ERRORS.any? { |c| outcome.is_a?(c) }
      return wrong(outcome) unless outcome.is_a?(Reply) && outcome.exit_code&.zero?

      "no cap (kept all #{outcome.stdout.bytesize >> 20} MiB)"
    end

    def spawn_failure_problem(_, _, outcome)
      return nil if SPAWN_ERRORS.any? { |c| outcome.is_a?(c) }
      return wrong(outcome) unless outcome.is_a?(Reply) && outcome.exit_code&.nonzero?

      "no error, just exit #{outcome.exit_code}"
    end

    def signal_problem(_, _, outcome)
      return wrong(outcome) unless outcome.is_a?(Reply)
      return nil if outcome.signal == 9

      "lies: exit code #{outcome.exit_code.inspect}, no signal"
    end

    def wrong(outcome) = "wrong ending: #{describe(outcome)}"

    def describe(outcome)
      case outcome
      when Reply then describe_reply(outcome)
      when Exception then outcome.class.name
      else outcome.inspect[0, 40]
      end
    end

    def describe_reply(reply)
      status = reply.signal ? "signal #{reply.signal}" : "exit #{reply.exit_code.inspect}"
      err = reply.stderr.to_s.lines.first&.strip
      err.nil? || err.empty? ? status : "#{status} (#{err[0, 60]})"
    end
  end

  # Row 8: spec/failure_matrix_spec.rb's scenarios, run against every
  # contender, each with its own timeout mechanism (Timeout.timeout for those
  # that have none). Each cell says whether the call returned within its
  # bound, ended the way the scenario calls for, and left no process alive in
  # the program's group, no zombie and no descriptor behind.
  #
  # Every call is bounded by the bench itself: it runs in a thread joined with
  # a hard cap; past the cap the bench kills the program's process group (and
  # any daemon the scenario started) by the ids it recorded, which unblocks the
  # peer. Those ids are known because the program is started through
  # bench/matrix/session, which gives it a session (hence a group) of its own
  # and writes its pid to a file before exec'ing the script.
  module FailureMatrix
    include FailureScenarios

    module_function

    def measure
      Bench.with_host_streams do |log|
        SCENARIOS.to_h do |scenario|
          log.call("8. #{scenario.name}")
          [scenario, CONTENDERS.to_h { |key| [key, cell(scenario, key)] }]
        end
      end
    end

    def cell(scenario, key)
      return Cell.new(verdict: "n/a (no chdir option)") if scenario.chdir && key == :backticks

      Dir.mktmpdir("gazette-matrix") do |dir|
        files = { pid: File.join(dir, "pid"), daemon: File.join(dir, "daemon") }
        argv = scenario.argv || [SESSION, files[:pid], "sh", script_file(scenario, dir, files[:daemon])]
        run_cell(scenario, key, argv, files)
      end
    end

    def run_cell(scenario, key, argv, files)
      Bench.reap_zombies # a zombie a previous cell's runner reaps late must not count here
      fds_before = Bench.open_fds.size
      outcome, seconds, finished = bounded_call(scenario, key, argv, files)
      problems = MatrixVerdict.problems(scenario, key, outcome, seconds, finished) +
                 MatrixVerdict.leftovers(*aftermath(files, fds_before))
      Cell.new(verdict: problems.empty? ? "ok" : problems.join("; "), seconds:)
    end

    # What the call left: live members of its group, then (after ending them)
    # zombies, and how many more descriptors are open than before.
    def aftermath(files, fds_before)
      pgid = Bench.pid_from(files[:pid])
      left = pgid ? Bench.group_members(pgid) : []
      leaked = Bench.open_fds.size - fds_before
      clean_up(files)
      [left, settled_zombies, leaked]
    end

    # The script goes in a file, so that argv needs no quoting: backticks and
    # TTY::Command (which take one string) then exec it without a shell of
    # their own, as they would `python3 slice_gazette.py`.
    def script_file(scenario, dir, daemon_pidfile)
      path = File.join(dir, "script.sh")
      File.write(path, "#{scenario.script.gsub("DAEMONFILE", daemon_pidfile)}\n")
      path
    end

    # A runner that reaps late (in a thread) is given 0.2 s before its
    # unreaped children count as zombies; the next cell starts with none.
    def settled_zombies
      sleep 0.2
      Bench.own_zombies
    end

    # @return [Array(Object, Float, Boolean)] the outcome (a Reply, a parsed
    #   document, an exception, or :thread_ended), seconds, and whether the
    #   call finished before the cap
    def bounded_call(scenario, key, argv, files)
      started = Bench.now
      thread = Thread.new do
        Thread.current.report_on_exception = false
        attempt(scenario, key, argv, files)
      end
      return [*thread.value, true] if thread.join(CAP)

      seconds = Bench.now - started
      clean_up(files) # past the cap: end what the call started, so the peer can return
      thread.join(5) || thread.kill.join(5)
      [nil, seconds, false]
    end

    # @return [Array(Object, Float)]
    def attempt(scenario, key, argv, files)
      started = Bench.now
      case scenario.mode
      when :call then [outcome { run(scenario, key, argv) }, Bench.now - started]
      when :timeout_around then [outcome { Timeout.timeout(0.5) { run(scenario, key, argv) } }, Bench.now - started]
      when :thread_kill then kill_during(scenario, key, argv, files[:pid])
      end
    end

    def outcome
      yield
    rescue StandardError => e
      e
    end

    def run(scenario, key, argv)
      cap = CAP_BYTES if scenario.expect == :output_limit
      reply = MatrixCall.public_send(key, argv, timeout: scenario.timeout, chdir: scenario.chdir,
                                                json: scenario.json, cap:)
      scenario.json && key != :gazette_runner ? JSON.parse(reply.stdout) : reply
    end

    def kill_during(scenario, key, argv, pidfile)
      inner = Thread.new do
        Thread.current.report_on_exception = false
        run(scenario, key, argv)
      end
      deadline = Bench.now + 5
      sleep 0.01 until Bench.pid_from(pidfile) || Bench.now > deadline
      killed = Bench.now
      inner.kill
      ended = inner.join(CAP - 1)
      [ended ? :thread_ended : :thread_still_running, Bench.now - killed]
    end

    # SIGKILL to the program's group and the daemon, by the ids they recorded.
    def clean_up(files)
      pgid = Bench.pid_from(files[:pid])
      daemon = Bench.pid_from(files[:daemon])
      Bench.kill_quietly(-pgid) if pgid
      Bench.kill_quietly(daemon) if daemon
      sleep 0.05 if pgid || daemon
    end
  end

  # Row 8 as Markdown.
  module MatrixReport
    include FailureScenarios

    module_function

    def details(results)
      headers = ["scenario", *CONTENDERS.map { |key| LABELS[key] }]
      rows = results.map { |scenario, cells| [scenario.name, *CONTENDERS.map { |key| cells[key].verdict }] }
      "## 8. Failure matrix: where each runner hangs, leaks or lies\n\n#{note}\n\n#{Markdown.table(headers, rows)}"
    end

    def note
      "spec/failure_matrix_spec.rb's scenarios, against every contender. Timeouts: #{TIMEOUT} s where the program " \
        "hangs, #{LONG_TIMEOUT} s where it should finish by itself, 30 s under Thread#kill and Timeout.timeout; " \
        "kill_after #{KILL_AFTER} s (gazette_runner, ChildProcess's stop); posix-spawn with `pgroup_kill: true`, " \
        "ChildProcess with `leader = true`, Open3 and backticks under `Timeout.timeout`. A call is \"hung\" past " \
        "its bound + #{MARGIN} s (the bound: timeout + kill_after when it hangs, kill_after when it exits 0 but " \
        "something holds the pipes, 1 s after Thread#kill); the bench stops waiting at #{CAP.round} s and kills the " \
        "group itself. \"Left alive\": live members of the program's process group right after the call returned " \
        "(the setsid daemon escapes every runner by design and is not counted); zombies: unreaped children of the " \
        "bench; fds: /proc/self/fd before and after. The host's stdin is an open pipe and its stderr /dev/null. " \
        "The stdout flood is 64 MiB then exit (spec: endless `yes`), so that runners without a cap finish; " \
        "gazette_runner gets `max_output: 1 MiB`, posix-spawn `max: 1 MiB`. JSON: peers' stdout through JSON.parse."
    end
  end
end
