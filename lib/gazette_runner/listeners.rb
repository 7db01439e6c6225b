# frozen_string_literal: true

module GazetteRunner
  # The callables an event goes to ({GazetteRunner.subscribe} subscribers,
  # {GazetteRunner.on_alert} handlers). The list is replaced by a frozen copy
  # on each change, so notifying reads it without a lock, and a listener may
  # remove itself while it is called. A listener that raises is reported to
  # the error block and skipped: the others still hear of the event.
  # @api private
  class Listeners
    # @yieldparam error [StandardError] what a listener raised
    def initialize(&on_error)
      @lock = Mutex.new
      @all = [].freeze
      @on_error = on_error
    end

    # @param listener [#call]
    # @return [#call] the listener
    def add(listener)
      @lock.synchronize { @all = [*@all, listener].freeze }
      listener
    end

    # @param listener [#call] what {#add} was given
    # @return [Boolean] true when it was listening
    def remove(listener)
      @lock.synchronize do
        before = @all.size
        @all = @all.reject { |known| known.equal?(listener) }.freeze
        @all.size < before
      end
    end

    # @return [Boolean] true when nobody listens, so there is nothing to build for them
    def empty? = @all.empty?

    # Calls every listener with `argument`, in the order they were added.
    # @param argument [Object]
    # @return [void]
    def notify(argument)
      @all.each do |listener|
        listener.call(argument)
      rescue StandardError => e
        @on_error.call(e)
      end
    end
  end
  private_constant :Listeners
end
