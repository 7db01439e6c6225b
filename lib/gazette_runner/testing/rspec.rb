# frozen_string_literal: true

require "rspec/core"
require "rspec/expectations"
require_relative "../testing"

module GazetteRunner
  module Testing
    # RSpec helpers, included in every example group by
    # `require "gazette_runner/testing/rspec"`, which also resets
    # {GazetteRunner::Testing} after each example:
    #
    #   it "marks the document failed when the slicer times out" do
    #     stub_gazette_run(["python3", /slice_gazette\.py\z/], raises: :timeout)
    #     expect { DocumentProcessingJob.perform_now(document.id) }
    #       .to make_gazette_run(["python3", /slice_gazette\.py\z/])
    #     expect(document.reload.error_kind).to eq("timeout")
    #   end
    module RSpecHelpers
      # @param pattern [Array, Regexp, #call] see {Testing.stub_run}
      # @param response [Hash] see {Testing.stub_run}
      # @return [Stub]
      def stub_gazette_run(pattern, **response) = Testing.stub_run(pattern, **response)

      # @return [Array<Testing::Call>] the runs made so far in this example
      def gazette_runs = Testing.calls

      # Fails when a run is made that no stub answers, even before any stub exists.
      # @return [void]
      def block_gazette_runs! = Testing.enable!

      # A block matcher: the block made at least one run (`times:` exactly that
      # many) whose argv matches the pattern, stubbed or not.
      # @param pattern [Array, Regexp, #call] as {Testing.stub_run} takes it
      # @param times [Integer, nil]
      # @return [RSpec::Matchers::BuiltIn::BaseMatcher]
      def make_gazette_run(pattern, times: nil) = MakeGazetteRun.new(pattern, times)
    end

    # The matcher behind {RSpecHelpers#make_gazette_run}.
    class MakeGazetteRun
      include ::RSpec::Matchers::Composable

      # @param pattern [Array, Regexp, #call]
      # @param times [Integer, nil]
      def initialize(pattern, times)
        @matcher = Stub.new(pattern, {})
        @times = times
      end

      # @param block [Proc]
      # @return [Boolean]
      def matches?(block)
        Testing.enable!(allow_real_runs: true) unless Testing.enabled?
        before = Testing.calls.size
        block.call
        @made = Testing.calls.drop(before).map(&:argv)
        count = @made.count { |argv| @matcher.match?(argv) }
        @times ? count == @times : count.positive?
      end

      # @return [Boolean] true: it takes a block
      def supports_block_expectations? = true

      # @return [String]
      def failure_message
        "expected a run matching #{@matcher.pattern.inspect}#{" #{@times} times" if @times}, " \
          "the block made: #{@made.inspect}"
      end

      # @return [String]
      def failure_message_when_negated
        "expected no run matching #{@matcher.pattern.inspect}, the block made: #{@made.inspect}"
      end

      # @return [String]
      def description = "make a run matching #{@matcher.pattern.inspect}"
    end
  end
end

RSpec.configure do |config|
  config.include GazetteRunner::Testing::RSpecHelpers
  config.after { GazetteRunner::Testing.reset! }
end
