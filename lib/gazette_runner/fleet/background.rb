# frozen_string_literal: true

module GazetteRunner
  module Fleet
    # A thread of the gem that does one thing every interval until stopped:
    # the fleet publisher's and the estimators' syncs. Whatever a round raises
    # is handed to `on_error` (which logs it) and the thread goes on: a
    # background thread of the gem never dies silently.
    # @api private
    class Background
      # @param name [String] the thread's name
      # @param interval [#call, Numeric] seconds between rounds
      # @param on_error [#call] called with anything a round raised
      # @param round [#call] one round
      # @param last_round [#call, nil] run once more when stopped
      def initialize(name, interval:, on_error:, round:, last_round: nil)
        @name = name
        @interval = interval
        @on_error = on_error
        @round = round
        @last_round = last_round
        @lock = Mutex.new
        @wake = ConditionVariable.new
      end

      # Starts the thread (once).
      # @return [Boolean] true when this call started it
      def start
        @lock.synchronize do
          return false if @thread&.alive?

          @stopping = false
          @thread = Thread.new { run }
          @thread.name = @name
          true
        end
      end

      # Stops the thread, waiting for its last round.
      # @param timeout [Numeric] seconds to wait for it
      # @return [void]
      def stop(timeout)
        thread = @lock.synchronize do
          @stopping = true
          @wake.broadcast
          @thread
        end
        thread&.join(timeout) || thread&.kill
      end

      # @return [Boolean] true while the thread runs
      def running? = @thread&.alive? || false

      private

      def run
        until @stopping
          guarded(@round)
          @lock.synchronize { @wake.wait(@lock, @interval) unless @stopping }
        end
        guarded(@last_round) if @last_round
      end

      def guarded(work)
        work.call
      rescue Exception => e # rubocop:disable Lint/RescueException -- logged, and the thread goes on
        @on_error.call(e)
      end
    end
  end
end
