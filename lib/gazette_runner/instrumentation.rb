# frozen_string_literal: true

require "json"

module GazetteRunner
  # Where each attempt is reported when it ends: the logger (one JSON line at
  # the start, one at the end, the stderr tail on failure, each with the
  # job's ids when it runs in a job), {Stats},
  # {GazetteRunner.subscribe} subscribers, and ActiveSupport::Notifications
  # when ActiveSupport is loaded. Reporting never changes what the call
  # returns or raises: a subscriber that raises is logged and skipped.
  # @api private
  module Instrumentation
    # The event's fields on a finish line, besides program, signal name, progress and error class.
    LOGGED = %i[pid outcome exit_code duration stdout_bytes stderr_bytes max_rss attempt].freeze
    private_constant :LOGGED
    @subscribers = Listeners.new do |error|
      log(:error, "subscriber_error") { { error: error.class.name, message: Redaction.text(error.message) } }
    end
    @logger = nil
    @logger_set = false

    # A {GazetteRunner.subscribe} registration; {#unsubscribe} ends it.
    # @api public
    class Subscription
      # @api private
      # @param block [Proc]
      def initialize(block)
        @block = block
        freeze
      end

      # @api private
      # @param event [Event]
      # @return [void]
      def call(event) = @block.call(event)

      # Stops delivery to this subscriber.
      # @return [Boolean] true when it was subscribed
      def unsubscribe = Instrumentation.unsubscribe(self)
    end

    class << self
      # @return [Logger, nil] the logger set with {.logger=}, else Rails.logger
      #   when Rails is loaded, else nil (silent)
      def logger
        return @logger if @logger_set

        ::Rails.logger if defined?(::Rails) && ::Rails.respond_to?(:logger)
      end

      # @param logger [Logger, nil] nil silences the gem even under Rails
      def logger=(logger)
        @logger = logger
        @logger_set = true
      end

      # Back to the default (Rails.logger when Rails is loaded, else silent).
      # @return [void]
      def default_logger!
        @logger = nil
        @logger_set = false
      end

      # @param block [Proc] called with each {Event}
      # @return [Subscription]
      def subscribe(&block)
        raise ArgumentError, "subscribe needs a block" unless block

        @subscribers.add(Subscription.new(block))
      end

      # @param subscription [Subscription]
      # @return [Boolean] true when it was subscribed
      def unsubscribe(subscription)
        @subscribers.remove(subscription)
      end

      # @return [Boolean] true when nothing takes reports: no logger (nor
      #   Rails.logger), no subscriber, nothing listening to {Event::NAME}
      def quiet? = @subscribers.empty? && logger.nil? && !notifications?

      # @return [Boolean] true when ActiveSupport::Notifications is loaded and
      #   something listens to {Event::NAME} (an app that loads ActiveSupport
      #   but subscribes to nothing of ours pays nothing for it)
      def notifications?
        return false unless defined?(::ActiveSupport::Notifications)

        ::ActiveSupport::Notifications.notifier.listening?(Event::NAME)
      end

      # @return [Hash, nil] a payload to fill in for ActiveSupport::Notifications,
      #   nil when nothing listens (and nothing needs one)
      def payload = notifications? ? {} : nil

      # Runs the block as the body of an ActiveSupport::Notifications event when
      # ActiveSupport is loaded; {.finished} fills in its payload before it ends.
      # @param payload [Hash, nil] filled in by {.finished}; nil runs the block alone
      # @return [Object] the block's value
      def around(payload, &)
        return yield unless payload

        ::ActiveSupport::Notifications.instrument(Event::NAME, payload, &)
      end

      # Logs the start line, with the fields the block returns (only evaluated
      # when there is a logger). Its `argv:` goes through
      # {Redaction.loggable}, then Rails' filter_parameters ({ArgvFilter}, whose "[FILTERED]" wins).
      # @yieldreturn [Hash{Symbol=>Object}]
      # @return [void]
      def started
        log(:info, "start") do
          fields = yield
          fields.key?(:argv) ? fields.merge(argv: ArgvFilter.redact(Redaction.loggable(fields[:argv]))) : fields
        end
      end

      # Reports an attempt that has ended, however it ended. Its {Event} is
      # asked for only when something takes it (a payload, a logger, a
      # subscriber): {Stats} need the outcome and duration alone.
      # @param attempt [#outcome, #pid, #duration, #event] an ended attempt
      # @param payload [Hash, nil] the ActiveSupport payload, filled in here
      # @return [void]
      def finished(attempt, payload)
        GazetteRunner.stats.record(attempt.outcome, attempt.pid && attempt.duration)
        return unless payload || logger || !@subscribers.empty?

        event = attempt.event
        payload&.merge!(event.to_h)
        log_finish(event)
        @subscribers.notify(event)
      end

      # @param event [Event] the attempt that failed
      # @param delay [Float] seconds before the next one
      # @return [void]
      def retrying(event, delay)
        log(:info, "retry") do
          { program: event.program, outcome: event.outcome, attempt: event.attempt,
            max_attempts: event.max_attempts, delay: delay.round(3) }
        end
      end

      private

      def log_finish(event)
        log(event.ok? ? :info : :warn, "finish") { finish_fields(event) }
        return if event.ok? || event.result.nil? || event.result.stderr.empty?

        log(:warn, "stderr_tail") do
          { program: event.program, pid: event.pid, stderr_tail: event.result.stderr_tail }
        end
      end

      def finish_fields(event)
        { program: event.program, **event.to_h.slice(*LOGGED), signal: event.result&.signal_name,
          progress: progress(event), error: event.error&.class&.name }
      end

      def progress(event)
        event.progress && Caps.cut(event.progress.to_s, Caps::PROGRESS_MESSAGE)
      end

      # Builds nothing unless there is a logger: most hosts outside Rails have none.
      def log(level, what)
        logger = self.logger
        return unless logger

        fields = yield
        logger.public_send(level) { line(what, fields) }
      end

      # Inside a job, every line carries its ids ({JobContext}) after the line's kind.
      def line(what, fields)
        JSON.generate({ "gazette_runner" => what, **JobContext.current, **fields.transform_values { json(_1) } })
      end

      # Program output and arguments may be any bytes and any size; a log line
      # must be UTF-8 and short: each String is cut to {Caps::LOG_VALUE} bytes,
      # each Array to {Caps::LOG_ITEMS} elements.
      def json(value)
        case value
        when String then Caps.cut(value, Caps::LOG_VALUE)
        when Array then items(value)
        when Symbol then value.to_s
        else value
        end
      end

      def items(array)
        shown = array.first(Caps::LOG_ITEMS).map { |element| json(element) }
        array.size > shown.size ? [*shown, "… (+#{array.size - shown.size})"] : shown
      end
    end
  end
end
