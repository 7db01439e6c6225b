# frozen_string_literal: true

require "monitor"
require "gazette_runner"

module GazetteRunner
  # Stubbed runs for job specs: `require "gazette_runner/testing"`, then
  #
  #   GazetteRunner::Testing.stub_run(["python3", /slice_gazette\.py\z/],
  #                                   stdout: '{"page_count": 0, "files": []}', progress: [[50, "page 1"]])
  #   GazetteRunner::Testing.stub_run(%w[pdfinfo], raises: :timeout)
  #
  # Once a stub is registered, {GazetteRunner.run}, `run!`, `run_json`,
  # `slice_gazette` and `health` spawn nothing: the latest stub whose pattern
  # matches argv answers, and a run that no stub matches raises
  # {UnstubbedRunError} (unless {.enable!} was given `allow_real_runs: true`).
  # The stubbed result then goes through the method's real checks: `run!`
  # raises {ExitError} on a non-zero `exit_code:`, `run_json` parses `stdout:`
  # (and checks `schema:`), `slice_gazette` checks the slicer's contract.
  # Options are checked as for a real run; the callbacks are called with the
  # stub's lines and progress. A stubbed run is neither retried nor logged nor
  # reported as an event. {.reset!} removes the stubs and the record of calls.
  # `require "gazette_runner/testing/rspec"` does that after each example.
  #
  # Loading this file changes nothing until a stub is registered.
  module Testing
    # A run that no stub matched, while stubbing is on.
    class UnstubbedRunError < StandardError; end

    # One run made while stubbing was on. Frozen.
    Call = Struct.new(:argv, :options, :stub, keyword_init: true) do
      # @return [Boolean] true when a stub answered it (false: it ran for real or raised UnstubbedRunError)
      def stubbed? = !stub.nil?
    end

    # A registered answer: what matches ({#match?}) and what it answers.
    class Stub
      # @return [Array, Regexp, #call] the pattern given to {Testing.stub_run}
      attr_reader :pattern

      # @param pattern [Array, Regexp, #call] see {Testing.stub_run}
      # @param response [Hash] see {Testing.stub_run}
      # @raise [ArgumentError] a pattern of another kind, or a bad response
      def initialize(pattern, response)
        unless pattern.is_a?(Array) || pattern.is_a?(Regexp) || pattern.respond_to?(:call)
          raise ArgumentError, "a stub's pattern is an Array, a Regexp or a callable, got #{pattern.inspect}"
        end

        @pattern = pattern
        @response = Response.new(**response)
        freeze
      end

      # An Array matches an argv that starts with elements matching its own
      # (by `===`: a String, a Regexp, a Class...); a Regexp matches argv joined
      # with spaces; a callable is given argv.
      # @param argv [Array<String>]
      # @return [Boolean]
      def match?(argv)
        case pattern
        when Array then pattern.size <= argv.size && pattern.each_with_index.all? { |part, i| part === argv[i] } # rubocop:disable Style/CaseEquality
        when Regexp then pattern.match?(argv.join(" "))
        else pattern.call(argv) ? true : false
        end
      end

      # @api private
      # @param argv [Array<String>]
      # @param options [Hash] the run's options
      # @return [Result] the stubbed result, once the callbacks have seen it
      # @raise [Exception] the stub's error
      def answer(argv, options) = @response.answer(argv, options)
    end

    LOCK = Monitor.new
    private_constant :LOCK
    @stubs = []
    @calls = []
    @enabled = false
    @allow_real_runs = false

    class << self
      # Registers an answer for the runs whose argv matches `pattern`; later
      # stubs win over earlier ones. Turns stubbing on.
      # @param pattern [Array, Regexp, #call] an Array of elements compared by
      #   `===` with argv's first elements, a Regexp matched against argv joined
      #   with spaces, or a callable given argv
      # @param response [Hash] `stdout:`, `stderr:` (Strings, default ""),
      #   `exit_code:` (default 0), `signal:` (e.g. "SIGKILL"; exit_code is then nil),
      #   `progress:` (Array of [percent, message]), `duration:` (seconds), or
      #   `raises:`: an outcome Symbol of the gem's errors (`:timeout`,
      #   `:spawn_error`, `:output_limit`, `:circuit_open`, `:exit_error`,
      #   `:empty_output`, `:invalid_json`, `:schema_error`), one of the gem's
      #   error classes, or any exception to raise as it is
      # @return [Stub]
      # @raise [ArgumentError] a bad pattern or response
      def stub_run(pattern, **response)
        stub = Stub.new(pattern, response)
        LOCK.synchronize do
          @stubs.unshift(stub)
          @enabled = true
        end
        stub
      end

      # Turns stubbing on without a stub: every run raises {UnstubbedRunError}
      # (or runs for real with allow_real_runs: true, and is recorded in {.calls}).
      # @param allow_real_runs [Boolean]
      # @return [void]
      def enable!(allow_real_runs: false)
        LOCK.synchronize do
          @enabled = true
          @allow_real_runs = allow_real_runs ? true : false
        end
      end

      # @return [Boolean] true while runs are intercepted
      def enabled? = @enabled

      # Removes every stub and recorded call, and turns stubbing off.
      # @return [void]
      def reset!
        LOCK.synchronize do
          @stubs = []
          @calls = []
          @enabled = false
          @allow_real_runs = false
        end
      end

      # @return [Array<Call>] the runs made while stubbing was on, oldest first
      def calls = LOCK.synchronize { @calls.dup }

      # @api private
      # @param argv [Array] as given to the run
      # @param options [Hash] as given to the run
      # @return [Stub, nil] the stub that answers, nil for a real run
      # @raise [UnstubbedRunError] nothing matches and real runs are not allowed
      def stub_for(argv, options)
        LOCK.synchronize do
          strings = Options.argv(argv)
          stub = @stubs.find { |candidate| candidate.match?(strings) }
          @calls << Call.new(argv: strings.freeze, options: options.dup.freeze, stub:).freeze
          return stub if stub || @allow_real_runs

          raise UnstubbedRunError, "no stub matches #{strings.inspect} (stubs: " \
                                   "#{@stubs.map { |candidate| candidate.pattern.inspect }.join(", ")})"
        end
      end
    end

    # What a stubbed run answers in place of a real one: its {#perform} yields
    # the stub's result to the method's own conversion, as a real call does.
    # @api private
    class StubbedCall
      # @param stub [Stub]
      # @param argv [Array]
      # @param options [Hash]
      def initialize(stub, argv, options)
        @stub = stub
        @argv = argv
        @options = options
      end

      # @return [Array<String>] the stubbed command
      def argv = Options.argv(@argv)

      # @return [false] a stub answers through {#perform}, never a native run
      def plain? = false

      # @param _executor [Object] ignored: a stub answers at once, also inside run_all
      # @yieldparam result [Result]
      # @return [Object] the block's value
      def perform(_executor = nil)
        yield @stub.answer(argv, @options)
      end
    end

    # Prepended onto GazetteRunner's singleton class: the one place every run
    # method makes its call.
    # @api private
    module Interception
      private

      # While stubs apply, a plain run too goes through {#new_call}.
      def plain_run(argv, options)
        super unless Testing.enabled?
      end

      def new_call(argv, options)
        call = super # checks argv and every option, as for a real run
        return call unless Testing.enabled?

        stub = Testing.stub_for(argv, options)
        stub ? StubbedCall.new(stub, argv, options) : call
      end
    end
  end
end

require_relative "testing/response"
GazetteRunner.singleton_class.prepend(GazetteRunner::Testing::Interception)
