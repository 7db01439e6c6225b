# frozen_string_literal: true

require_relative "gazette_runner/version"
require_relative "gazette_runner/errors"
require_relative "gazette_runner/result"
require_relative "gazette_runner/options"
require_relative "gazette_runner/output_errors"
require_relative "gazette_runner/json_output"
require_relative "gazette_runner/slice_result"
require_relative "gazette_runner/slice_contract"
require_relative "gazette_runner/gazette_runner"

# Runs an external program from a background job with a hard time bound,
# clean-up of everything it started, and bounded output capture.
#
#   result = GazetteRunner.run(["python3", "slice_gazette.py", "--in", pdf], timeout: 900)
#   result.success? # => true
#   JSON.parse(result.stdout)
#
# See the README for the guarantees and their limits.
module GazetteRunner
  # The bound used when a call gives no `timeout:`.
  DEFAULT_TIMEOUT = 60
  # Grace between SIGTERM and SIGKILL.
  DEFAULT_KILL_AFTER = 5
  # Bytes kept per stream.
  DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024

  @default_timeout = DEFAULT_TIMEOUT

  class << self
    # @return [Numeric] seconds; the bound of calls that give no `timeout:`
    attr_reader :default_timeout

    # @param seconds [Numeric] a finite number of seconds > 0 (there is no unbounded run)
    # @raise [ArgumentError] when seconds is nil, zero, negative or infinite
    def default_timeout=(seconds)
      @default_timeout = Options.seconds(seconds, "timeout")
    end

    # Runs a program and waits for it, within a bound. The program runs in a
    # process group of its own, with no shell; when it exits, times out, writes
    # too much or the calling thread is interrupted, the whole group is ended
    # and reaped before this returns or raises.
    #
    # @param argv [Array<String, #to_path, #to_str>] the program and its arguments
    # @param timeout [Numeric] seconds before the group is ended (default {.default_timeout})
    # @param kill_after [Numeric] seconds between SIGTERM and SIGKILL
    # @param env [Hash{String=>String,nil}] variables set (String) or unset (nil) over ENV
    # @param clear_env [Boolean] when true the program gets exactly `env:`
    # @param chdir [String, #to_path, nil] the program's working directory
    # @param stdin [String, nil] bytes fed to the program's stdin (default: /dev/null)
    # @param max_output [Integer] bytes kept per stream; more raises {OutputLimitError}
    # @param memory_limit [Integer, nil] address-space limit in bytes (RLIMIT_AS)
    # @param cpu_limit [Integer, nil] CPU-time limit in seconds (RLIMIT_CPU)
    # @return [Result] whatever the exit status
    # @raise [SpawnError] the program could not be started
    # @raise [TimeoutError] the bound passed (also a `Timeout::Error`)
    # @raise [OutputLimitError] a stream went past `max_output:`
    # @raise [ArgumentError] bad arguments; nothing was started
    def run(argv, timeout: default_timeout, kill_after: DEFAULT_KILL_AFTER, env: nil, clear_env: false, # rubocop:disable Metrics/ParameterLists
            chdir: nil, stdin: nil, max_output: DEFAULT_MAX_OUTPUT, memory_limit: nil, cpu_limit: nil)
      argv = Options.argv(argv)
      timeout = Options.seconds(timeout, "timeout")
      raw = Native.execute(
        argv, Options.env(env), clear_env ? true : false, Options.optional_string(chdir, "chdir"),
        Options.stdin(stdin), timeout, Options.seconds(kill_after, "kill_after", allow_zero: true),
        Options.positive_integer(max_output, "max_output", optional: false),
        Options.positive_integer(memory_limit, "memory_limit"), Options.positive_integer(cpu_limit, "cpu_limit"),
        nil
      )
      result = build_result(argv, raw)
      raise_for_ending(result, timeout, max_output)
      result
    end

    # Like {.run}, but a non-zero exit or a death by signal raises {ExitError}.
    # @return [Result] a successful one
    # @raise [ExitError] the program did not succeed
    def run!(argv, **options)
      result = run(argv, **options)
      raise ExitError, result unless result.success?

      result
    end

    # Runs the program like {.run} and returns what it printed on stdout as
    # Ruby objects, parsed as Ruby's `JSON.parse` would (with two deliberate
    # differences: a UTF-8 byte-order mark is accepted, invalid UTF-8 is refused).
    #
    # @param argv [Array<String>]
    # @param schema [Hash, String, nil] a JSON Schema (draft 2020-12 unless it says
    #   otherwise) the document must satisfy
    # @param symbolize_names [Boolean] Symbol keys instead of String keys
    # @param options [Hash] any option of {.run}
    # @return [Object] the document
    # @raise [SpawnError, TimeoutError, OutputLimitError] as {.run}
    # @raise [ExitError] non-zero exit or death by signal
    # @raise [EmptyOutputError] stdout empty or only whitespace
    # @raise [InvalidJsonError] not exactly one JSON document (or nested deeper than 100)
    # @raise [SchemaError] the document fails `schema:`
    # @raise [ArgumentError] bad arguments, or a schema that is not a valid JSON Schema
    def run_json(argv, schema: nil, symbolize_names: false, **options)
      JsonOutput.schema_text(schema) # a bad schema argument fails before anything runs
      result = run!(argv, **options)
      JsonOutput.parse(result, schema:, symbolize_names:)
    end

    # Runs a gazette slicer and checks its answer against the slicer's contract:
    # `{"page_count": Integer >= 0, "files": [String, ...]}` with one file per
    # page, each existing inside `output_dir` (relative paths resolve against
    # it; symlinks and `..` are resolved before the check). `output_dir:` is not
    # added to argv: pass the script whatever flags it needs.
    #
    # @param argv [Array<String>]
    # @param output_dir [String, #to_path] where the slicer writes its pages
    # @param options [Hash] any option of {.run}
    # @return [SliceResult]
    # @raise [SchemaError] the answer breaks the contract
    # @raise (see .run_json)
    def slice_gazette(argv, output_dir:, **options)
      output_dir = Options.string(output_dir, "output_dir")
      raise ArgumentError, "output_dir #{output_dir.inspect} is not a directory" unless File.directory?(output_dir)

      result = run!(argv, **options)
      document = JsonOutput.parse(result, schema: SliceContract::SCHEMA)
      SliceContract.check(document, output_dir, result)
    end

    private

    def build_result(argv, raw)
      pid, exit_code, signal, ending, stdout, stderr, duration, max_rss, killed_leftovers, abandoned = raw
      Result.new(argv:, pid:, exit_code:, signal:, stdout:, stderr:,
                 duration:, max_rss:, ending:, killed_leftovers:,
                 abandoned:)
    end

    def raise_for_ending(result, timeout, max_output)
      case result.ending
      when :timeout then raise TimeoutError.new(result, timeout)
      when :stdout_limit then raise OutputLimitError.new(result, :stdout, max_output)
      when :stderr_limit then raise OutputLimitError.new(result, :stderr, max_output)
      end
    end
  end

  # Processes still running when the host exits are ended with it.
  at_exit { Native.kill_all_running }
end
