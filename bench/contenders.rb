# frozen_string_literal: true

require "English"
require "fiddle"
require "open3"
require "posix/spawn"
require "shellwords"
require "mixlib/shellout"
require "tty-command"
require "childprocess"
require "gazette_runner"

module Bench
  # Column order of every table; the floor exists only where it is meaningful.
  LABELS = {
    floor: "floor (Rust std)",
    gazette_runner: "gazette_runner",
    posix_spawn: "POSIX::Spawn::Child",
    open3: "Open3.capture3",
    backticks: "backticks",
    mixlib: "Mixlib::ShellOut",
    tty_command: "TTY::Command",
    childprocess: "ChildProcess"
  }.freeze
  PEERS = %i[posix_spawn open3 backticks mixlib tty_command childprocess].freeze
  # The process runners, gazette_runner first: the columns of most tables.
  CONTENDERS = [:gazette_runner, *PEERS].freeze
  # Peers that start the program by fork (Ruby does not vfork as root), whose
  # cost grows with the heap.
  FORKING = %i[open3 backticks mixlib tty_command childprocess].freeze
  # TTY::Command logs every command to stdout unless told not to.
  TTY_COMMAND = TTY::Command.new(printer: :null)

  # A contender did not do the work (non-zero exit), with the program's complaint.
  class Failed < StandardError; end

  # One way per contender to run argv, capture stdout and stderr where the
  # contender can, and return stdout. Each raises {Failed} unless the program
  # exited 0, so a contender that silently did less work cannot look fast.
  module Run
    module_function

    def gazette_runner(argv, **options)
      result = GazetteRunner.run(argv, **options)
      check(result.success?, argv, result.stderr)
      result.stdout
    end

    def posix_spawn(argv)
      child = POSIX::Spawn::Child.new(*argv)
      check(child.success?, argv, child.err)
      child.out
    end

    def open3(argv)
      stdout, stderr, status = Open3.capture3(*argv)
      check(status.success?, argv, stderr)
      stdout
    end

    # Backticks take one string; with no shell metacharacters in it Ruby execs
    # the program directly, as the others do. Only stdout is captured.
    def backticks(argv)
      stdout = `#{argv.shelljoin}`
      check($CHILD_STATUS.success?, argv, "")
      stdout
    end

    # Given several arguments, ShellOut execs the program without a shell.
    def mixlib(argv)
      shell = Mixlib::ShellOut.new(*argv)
      shell.run_command
      check(shell.status.success?, argv, shell.stderr)
      shell.stdout
    end

    # TTY::Command joins its arguments with spaces and hands the line to
    # Process.spawn, so argv is shell-quoted first (and runs without a shell
    # when nothing in it needs one). `run!` returns rather than raises on failure.
    def tty_command(argv)
      result = TTY_COMMAND.run!(argv.shelljoin)
      check(result.success?, argv, result.err)
      result.out
    end

    # ChildProcess starts the program and hands it IOs; reading them is the
    # caller's job, so both are drained by threads while it waits.
    def childprocess(argv)
      status, stdout, stderr = ChildProcessRun.call(argv)
      check(status.zero?, argv, stderr)
      stdout
    end

    def check(success, argv, stderr)
      raise Failed, "`#{argv.join(" ")}` failed: #{stderr.lines.first&.strip}" unless success
    end
  end

  # The usual ChildProcess recipe: pipes for stdout and stderr, a reader thread
  # for each, `poll_for_exit(timeout)` and, when that times out, `stop` (TERM,
  # then KILL after `kill_after`). `leader: true` puts the program in its own
  # process group, so that `stop` signals the whole group.
  module ChildProcessRun
    module_function

    # @return [Array(Integer, String, String)] exit code (or signal number: ChildProcess merges them), stdout, stderr
    def call(argv, timeout: nil, kill_after: 3, chdir: nil, leader: false)
      pipes = [IO.pipe, IO.pipe]
      process = start(argv, pipes.map(&:last), chdir:, leader:)
      readers = pipes.map { |reader, _| Thread.new { read_quietly(reader) } }
      code = wait(process, timeout, kill_after)
      [code, *readers.map(&:value)]
    ensure
      pipes.flatten.each { |io| io.close unless io.closed? }
    end

    def start(argv, (stdout, stderr), chdir:, leader:)
      process = ChildProcess.build(*argv)
      process.leader = leader
      process.cwd = chdir if chdir
      process.io.stdout = stdout
      process.io.stderr = stderr
      process.start
      process
    ensure
      [stdout, stderr].each(&:close)
    end

    # The bench closes the pipe under a reader it gave up on; that is not news.
    def read_quietly(reader)
      Thread.current.report_on_exception = false
      reader.read
    end

    def wait(process, timeout, kill_after)
      return process.wait unless timeout

      process.poll_for_exit(timeout)
      process.exit_code
    rescue ChildProcess::TimeoutError
      process.stop(kill_after)
      raise
    end
  end

  # The Rust floor (bench/floor, built by `rake bench:floor`), run inside this Ruby process through Fiddle.
  module Floor
    LIBRARY = File.expand_path("floor/target/release/libgazette_bench_floor.so", __dir__)
    SIGNATURE = [[-Fiddle::TYPE_INT, Fiddle::TYPE_VOIDP], -Fiddle::TYPE_INT].freeze

    module_function

    # @return [Array<Float>] seconds of each of `count` runs of /bin/true
    def true_seconds(count)
      buffer = Fiddle::Pointer.malloc(count * Fiddle::SIZEOF_DOUBLE, Fiddle::RUBY_FREE)
      failures = function.call(count, buffer)
      raise "floor: #{failures} of #{count} runs of /bin/true failed" unless failures.zero?

      buffer[0, count * Fiddle::SIZEOF_DOUBLE].unpack("d*")
    end

    def function
      @function ||= begin
        raise "#{LIBRARY} is missing; `rake bench` builds it" unless File.exist?(LIBRARY)

        Fiddle::Function.new(Fiddle.dlopen(LIBRARY)["floor_true_seconds"], *SIGNATURE)
      end
    end
  end
end
