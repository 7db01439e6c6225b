# frozen_string_literal: true

require "English"
require "fiddle"
require "open3"
require "posix/spawn"
require "shellwords"
require "gazette_runner"

module Bench
  # Column order of every table; the floor exists only where it is meaningful.
  LABELS = {
    floor: "floor (Rust std)",
    gazette_runner: "gazette_runner",
    posix_spawn: "POSIX::Spawn::Child",
    open3: "Open3.capture3",
    backticks: "backticks"
  }.freeze
  PEERS = %i[posix_spawn open3 backticks].freeze

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

    def check(success, argv, stderr)
      raise Failed, "`#{argv.join(" ")}` failed: #{stderr.lines.first&.strip}" unless success
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
