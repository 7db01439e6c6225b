# frozen_string_literal: true

require "etc"
require_relative "gazette_runner/version"
require_relative "gazette_runner/caps"
require_relative "gazette_runner/redaction"
require_relative "gazette_runner/errors"
require_relative "gazette_runner/progress"
require_relative "gazette_runner/result"
require_relative "gazette_runner/options"
require_relative "gazette_runner/output_errors"
require_relative "gazette_runner/json_output"
require_relative "gazette_runner/slice_result"
require_relative "gazette_runner/slice_contract"
require_relative "gazette_runner/deadline"
require_relative "gazette_runner/retry_policy"
require_relative "gazette_runner/circuit_breaker"
require_relative "gazette_runner/job_context"
require_relative "gazette_runner/argv_filter"
require_relative "gazette_runner/event"
require_relative "gazette_runner/forks"
require_relative "gazette_runner/histogram"
require_relative "gazette_runner/stats"
require_relative "gazette_runner/running"
require_relative "gazette_runner/listeners"
require_relative "gazette_runner/instrumentation"
require_relative "gazette_runner/line_hook"
require_relative "gazette_runner/attempt"
require_relative "gazette_runner/call_options"
require_relative "gazette_runner/call"
require_relative "gazette_runner/fate"
require_relative "gazette_runner/batch"
require_relative "gazette_runner/health"
require_relative "gazette_runner/alert"
require_relative "gazette_runner/estimator"

# The native extension. A checkout used as a Bundler `path:` gem has none until
# `rake compile` builds it: Bundler does not build the extensions of path gems.
begin
  require_relative "gazette_runner/gazette_runner"
rescue LoadError => e
  so = File.expand_path("gazette_runner/gazette_runner.so", __dir__)
  raise if File.exist?(so) # present but unloadable (another Ruby's build): say so as it is

  raise LoadError, "gazette_runner's native extension is not built: #{so} is missing. In a checkout " \
                   "(a Bundler path: gem), run `rake compile` in #{File.dirname(__dir__)} once " \
                   "(Rust >= 1.85 and libclang needed); or install the x86_64-linux platform gem, which " \
                   "needs no build. See docs/install.md. (#{e.message})"
end

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
  # The bound of a health check that gives no `timeout:`.
  DEFAULT_HEALTH_TIMEOUT = 10

  # Internals of a call, not API.
  private_constant :Call, :CallOptions, :Attempt, :LineHook, :Batch

  @default_timeout = DEFAULT_TIMEOUT
  @default_kill_after = DEFAULT_KILL_AFTER.to_f
  @stats = Stats.new(plain_runs: true)

  class << self
    # @return [Numeric] seconds; the bound of calls that give no `timeout:`
    attr_reader :default_timeout

    # @return [Float] seconds between SIGTERM and SIGKILL for calls that give no `kill_after:`
    attr_reader :default_kill_after

    # @return [Stats] process-wide counts and durations of runs
    attr_reader :stats

    # @param seconds [Numeric] a finite number of seconds > 0 (there is no unbounded run)
    # @raise [ArgumentError] when seconds is nil, zero, negative or infinite
    def default_timeout=(seconds)
      @default_timeout = Options.number(seconds, "timeout")
    end

    # @param seconds [Numeric] a finite number of seconds >= 0 (0 sends SIGKILL
    #   right after SIGTERM)
    # @raise [ArgumentError] when seconds is nil, negative or infinite
    def default_kill_after=(seconds)
      @default_kill_after = Options.number(seconds, "kill_after")
    end

    # @return [Array<String, Symbol, Regexp>] the filters applied to argv in log lines (see {ArgvFilter})
    def filter_parameters = ArgvFilter.filters

    # Filters applied to argv before the start line logs it, matched like
    # Rails' `config.filter_parameters` (the Railtie passes that list): the
    # value of a matching flag (`--api-key VALUE`, `--api-key=VALUE`,
    # `api_key=VALUE`) is logged as `[FILTERED]`.
    # @param filters [Array<String, Symbol, Regexp>]
    # @raise [ArgumentError] an entry of another type (e.g. a Proc)
    def filter_parameters=(filters)
      ArgvFilter.filters = filters
    end

    # Runs a program and waits for it, within a bound. The program runs in a
    # process group of its own, with no shell; when it exits, times out, writes
    # too much or the calling thread is interrupted, the whole group is ended
    # and reaped before this returns or raises.
    #
    # @param argv [Array<String, #to_path, #to_str>] the program and its arguments
    # @param options [Hash] the options below
    # @option options [Numeric] :timeout seconds before the group is ended (default
    #   {.default_timeout}; with a deadline and no timeout, the deadline's budget)
    # @option options [Numeric] :kill_after seconds between SIGTERM and SIGKILL (default {.default_kill_after}, 5)
    # @option options [Deadline, nil] :deadline the job's overall budget (see {Deadline});
    #   a {.within} block's deadline applies too, the earlier of the two winning
    # @option options [Hash{String=>String,nil}] :env variables set (String) or unset (nil) over ENV
    # @option options [Boolean] :clear_env (false) when true the program gets exactly `env:`
    # @option options [String, #to_path, nil] :chdir the program's working directory
    # @option options [String, nil] :stdin bytes fed to the program's stdin (default: /dev/null)
    # @option options [Integer] :max_output (64 MiB) bytes kept per stream; more raises {OutputLimitError}
    # @option options [Integer, nil] :memory_limit address-space limit in bytes (RLIMIT_AS)
    # @option options [Integer, nil] :cpu_limit CPU-time limit in seconds (RLIMIT_CPU)
    # @option options [Integer] :retries (0) attempts after the first (see {RetryPolicy})
    # @option options [Numeric] :backoff (1) seconds; the first wait's ceiling, doubled each time
    # @option options [Numeric] :max_backoff (30) seconds; no wait is longer
    # @option options [Array<Symbol>] :retry_on (%i[timeout exit_error]) outcomes to retry
    # @option options [RetryPolicy] :retry_policy all four retry options in one object
    # @option options [CircuitBreaker] :breaker refuses to start the program while open
    # @option options [Estimator] :estimator takes the bound from what it learned for `size:`
    #   (capped by `timeout:` when given) and learns from this run's outcome (see {Estimator})
    # @option options [Numeric] :size the input's size (pages), for `estimator:`
    # @option options [#call] :on_stdout called with each line of stdout as it arrives
    # @option options [#call] :on_stderr called with each line of stderr as it arrives
    # @option options [#call] :on_progress called with a {Progress} for each `PROGRESS` line on stderr
    # @return [Result] whatever the exit status (with `retries:`, the last attempt's)
    # @raise [SpawnError] the program could not be started
    # @raise [TimeoutError] the bound passed, or the deadline left too little to start (also a `Timeout::Error`)
    # @raise [OutputLimitError] a stream went past `max_output:`
    # @raise [CircuitOpenError] the breaker is open; nothing was started
    # @raise [ArgumentError] bad arguments; nothing was started
    def run(argv, **options)
      plain_run(argv, options) || new_call(argv, options).perform { |result| result }
    end

    # Like {.run}, but a non-zero exit or a death by signal raises {ExitError}
    # (and is retried with `retries:`).
    # @param argv [Array<String, #to_path, #to_str>]
    # @param options [Hash] any option of {.run}
    # @return [Result] a successful one
    # @raise [ExitError] the program did not succeed
    # @raise (see .run)
    def run!(argv, **options)
      plain = plain_run(argv, options)
      return succeeded(plain) if plain

      new_call(argv, options).perform { |result| succeeded(result) }
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
    # @raise [SpawnError, TimeoutError, OutputLimitError, CircuitOpenError] as {.run}
    # @raise [ExitError] non-zero exit or death by signal
    # @raise [EmptyOutputError] stdout empty or only whitespace
    # @raise [InvalidJsonError] not exactly one JSON document (or nested deeper than 100)
    # @raise [SchemaError] the document fails `schema:`
    # @raise [ArgumentError] bad arguments, or a schema that is not a valid JSON Schema
    def run_json(argv, schema: nil, symbolize_names: false, **options)
      JsonOutput.schema_text(schema) # a bad schema argument fails before anything runs
      new_call(argv, options).perform do |result|
        JsonOutput.parse(succeeded(result), schema:, symbolize_names:)
      end
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

      new_call(argv, options).perform do |result|
        document = JsonOutput.parse(succeeded(result), schema: SliceContract::SCHEMA)
        SliceContract.check(document, output_dir, result)
      end
    end

    # Runs many programs from the calling thread, at most `concurrency` at
    # once, each like {.run!} under its own bound, all waited on by one native
    # loop (no thread per program). Every command is checked before anything
    # starts.
    #
    #   pages = GazetteRunner.run_all(ranges.map { |r| ["python3", "slice_gazette.py", "--pages", r] },
    #                                 concurrency: 4, timeout: 300)
    #
    # **Fail fast** (the default): the first failure — what {.run!} would raise,
    # after its retries — ends every other running program (SIGTERM, SIGKILL
    # after `kill_after:`), starts no more, reaps them all and raises
    # {BatchError} with every command's {Fate}. With `fail_fast: false` every
    # command runs and the fates come back together in the {BatchError}.
    # An exception of the calling thread (Thread#raise, Timeout, Sidekiq's
    # shutdown) ends and reaps every program before it propagates.
    #
    # @param commands [Array<Array>] each an argv, or `[argv, {options}]` whose
    #   options override `options` for that command
    # @param concurrency [Integer] programs running at most at once (1 to 256;
    #   default: the number of processors)
    # @param fail_fast [Boolean] (true) the first failure ends the rest
    # @param options [Hash] any option of {.run}, for every command
    # @return [Array<Result>] successful results, in input order
    # @raise [BatchError] a command failed; {BatchError#fates} tells each one's fate
    # @raise [ArgumentError] a bad command or option; nothing was started
    def run_all(commands, concurrency: Etc.nprocessors, fail_fast: true, **options)
      raise ArgumentError, "commands must be an Array, got #{commands.class}" unless commands.is_a?(Array)

      concurrency = Options.number(concurrency, "concurrency")
      calls = commands.map do |command|
        argv, own = Options.batch_command(command)
        new_call(argv, own ? options.merge(own) : options)
      end
      Batch.new(calls, concurrency, fail_fast ? true : false).run
    end

    # Runs the block with a deadline that every call inside it (on this
    # thread) uses without being told. Nested blocks never extend an outer
    # budget. Nothing is raised when the time runs out: calls just refuse to
    # start with a {TimeoutError}.
    #
    #   GazetteRunner.within(1800) do |deadline|
    #     GazetteRunner.run(fetch)                # bound: the deadline's budget
    #     GazetteRunner.run(slice, timeout: 900)  # bound: the smaller of the two
    #   end
    #
    # @param budget [Numeric, Deadline] seconds from now, or a deadline
    # @yieldparam deadline [Deadline] the deadline in force inside the block
    # @return [Object] the block's value
    # @raise [ArgumentError] budget is neither a Deadline nor a finite number >= 0
    def within(budget, &)
      raise ArgumentError, "within needs a block" unless block_given?

      Deadline.with(budget.is_a?(Deadline) ? budget : Deadline.in(budget), &)
    end

    # Runs a program as a health check and says whether it exited 0 within
    # `timeout:` (and printed what `expect:` asks), and if not, why. Never
    # raises for the program's failure. The run is instrumented like any other.
    #
    # @param argv [Array<String>]
    # @param timeout [Numeric] seconds
    # @param expect [Regexp, String, nil] stdout must match it
    # @param options [Hash] any other option of {.run}
    # @return [Health]
    # @raise [ArgumentError] bad arguments
    def health(argv, timeout: DEFAULT_HEALTH_TIMEOUT, expect: nil, **options)
      Health.check(argv, timeout:, expect:, **options)
    end

    # @param argv [Array<String>]
    # @param options [Hash] the options of {.health}
    # @return [Boolean] {.health}'s verdict
    # @raise [ArgumentError] bad arguments
    def healthy?(argv, **options) = health(argv, **options).healthy?

    # @return [Logger, nil] where runs are logged: the logger given to {.logger=},
    #   else Rails.logger when Rails is loaded, else nil (silent)
    def logger = Instrumentation.logger

    # @param logger [Logger, nil] any Logger-like object; nil silences the gem
    def logger=(logger)
      Instrumentation.logger = logger
    end

    # Calls the block with an {Event} when each attempt ends, on the thread
    # that ran it. A block that raises is logged and skipped.
    # @yieldparam event [Event]
    # @return [Instrumentation::Subscription] call #unsubscribe on it to stop
    # @raise [ArgumentError] no block
    def subscribe(&) = Instrumentation.subscribe(&)

    # @param subscription [Instrumentation::Subscription] what {.subscribe} returned
    # @return [Boolean] true when it was subscribed
    def unsubscribe(subscription) = Instrumentation.unsubscribe(subscription)

    # @return [Array<Running::Child>] the programs this process is running right now, oldest first
    def running = Running.all

    # Calls the block with an {Alert} when a fleet-wide condition starts
    # holding and when it clears, once for the whole fleet (see
    # `GazetteRunner::Fleet`, require "gazette_runner/fleet"). A block that
    # raises is logged and skipped.
    # @yieldparam alert [Alert]
    # @return [Proc] the handler; pass it to {.off_alert} to stop
    # @raise [ArgumentError] no block
    def on_alert(&) = Alert.on(&)

    # @param handler [Proc] what {.on_alert} returned
    # @return [Boolean] true when it was registered
    def off_alert(handler) = Alert.off(handler)

    private

    # A run with no option while nothing listens (no logger, subscriber,
    # ActiveSupport or {.within} deadline) is the common call, and needs no
    # report: the native extension runs it, lists it in {.running}, records it
    # in {.stats} and builds its Result in one call, because after the
    # program's wait every Ruby method runs with cold caches (bench row 1c).
    # Nil when the call needs the full path, which behaves the same.
    def plain_run(argv, options)
      return unless options.empty? && Deadline.current.nil? && Instrumentation.quiet?

      bound = @default_timeout.to_f
      started = Deadline.now
      result = Native.run(argv, bound, @default_kill_after, DEFAULT_MAX_OUTPUT) or return
      Attempt.raise_for_ending(result, bound, DEFAULT_MAX_OUTPUT, started)
      result
    end

    # The module-wide default of kill_after: is filled in here, so the common
    # call (no default changed) passes its options Hash on untouched.
    def new_call(argv, options)
      unless options.key?(:kill_after) || @default_kill_after == DEFAULT_KILL_AFTER
        options = options.merge(kill_after: @default_kill_after)
      end
      Call.new(argv, options)
    end

    def succeeded(result)
      raise ExitError, result unless result.success?

      result
    end
  end

  # Processes still running when the host exits are ended with it.
  at_exit { Native.kill_all_running }
end

require_relative "gazette_runner/railtie" if defined?(Rails::Railtie)
