# frozen_string_literal: true

module GazetteRunner
  # {GazetteRunner.run_all}: many commands on the calling thread, at most
  # `concurrency` running at once, all waited on by one native loop
  # ({Native::Batch}: one poll over every program, the GVL released once per wait).
  #
  # Each command is an ordinary {Call} — its attempts, events, stats, breaker,
  # retries and callbacks mean what they mean for {GazetteRunner.run} — run by
  # one of `concurrency` worker Fibers: where a single run would block in the
  # native wait, the worker hands its program to the batch and yields; the
  # batch resumes it with the outcome. Fibers are only the bookkeeping:
  # nothing runs in parallel in Ruby, and no thread is started.
  # @api private
  class Batch
    # @param calls [Array<Call>] checked already, in input order
    # @param concurrency [Integer] programs running at most at once
    # @param fail_fast [Boolean] the first failure ends the rest
    def initialize(calls, concurrency, fail_fast)
      @tasks = calls.each_with_index.map { |call, index| Task.new(self, call, index) }
      @concurrency = concurrency
      @fail_fast = fail_fast
      @context = JobContext.current
      @running = {} # a started program's key => its task
      @pausing = [] # tasks between attempts
      @stopping = false
      @stopped = false
    end

    # @return [Native::Batch] the native loop (for the tasks)
    attr_reader :native

    # @return [Boolean] true once a failure (with fail fast) ends the rest
    def stopping? = @stopping

    # Runs every command and returns their results, or raises {BatchError}.
    # Whatever ends it early (an exception of the calling thread, Thread#kill)
    # ends and reaps every program first.
    # @return [Array<Result>] in input order
    # @raise [BatchError] when a command failed
    def run
      @native = Native::Batch.new
      @pending = @tasks.dup
      @workers = Array.new([@concurrency, @tasks.size].min) { Fiber.new { work } }
      drive
      @done = true
      conclude
    rescue Exception => e # rubocop:disable Lint/RescueException -- every program is reaped first, then it propagates
      abandon(e) unless @done
      raise
    ensure
      abandon(nil) unless @done # Thread#kill raises nothing
    end

    # @api private
    # @param key [Integer] the native batch's key of a program just started
    # @param task [Task]
    # @return [void]
    def register(key, task)
      @running[key] = task
    end

    private

    # A worker: `concurrency` of them take commands from the queue in turn,
    # each running one command at a time, as many threads would, but as Fibers
    # of this thread (one each, not one per command).
    # The caller's job context (see {JobContext}) holds in every worker: a
    # Fiber does not inherit it.
    def work
      @context.empty? ? take_tasks : JobContext.with(**@context) { take_tasks }
    end

    def take_tasks
      while !@stopping && (task = @pending.shift)
        task.perform
        @stopping ||= @fail_fast && task.failed?
      end
    end

    # Starts the workers, then hands each program's outcome to its worker
    # until every worker is done.
    def drive
      @workers.each do |worker|
        worker.resume
        stop if @stopping && !@stopped
      end
      while @workers.any?(&:alive?)
        event = @native.wait(wait_limit)
        event ? deliver(*event) : wake_pausing
        stop if @stopping && !@stopped
      end
    end

    # Seconds until the next task between attempts is due (nil: none is).
    def wait_limit
      return nil if @pausing.empty?

      [@pausing.map(&:wake_at).min - Deadline.now, 0].max
    end

    # A program finished, or one of its hooks raised (which ended it).
    def deliver(key, finished, outcome, hook_error)
      task = @running[key]
      if hook_error
        raise hook_error unless hook_error.is_a?(StandardError) # an interruption that came during a hook

        task&.hook_failed(hook_error)
      end
      return unless finished

      @running.delete(key)
      task&.resume(outcome)
      @pausing << task if task&.pausing?
    end

    def wake_pausing
      now = Deadline.now
      due, @pausing = @pausing.partition { |task| task.wake_at <= now }
      due.each { |task| resume_paused(task) }
    end

    def resume_paused(task)
      task.resume(nil)
      @pausing << task if task.pausing?
    end

    # Fail fast: cancel every running program (SIGTERM, SIGKILL after its
    # kill_after) and every task between attempts; the workers take no more.
    def stop
      @stopped = true
      @running.each do |key, task|
        task.cancel
        @native.cancel(key)
      end
      waking = @pausing
      @pausing = []
      waking.each { |task| resume_paused(task) }
    end

    def conclude
      fates = @tasks.map(&:fate)
      raise BatchError, fates if fates.any?(&:failed?)

      fates.map(&:result)
    end

    # The caller's thread was interrupted (or killed): every program is ended
    # and reaped, and every worker's Fiber is unwound with the same exception
    # so that its command's attempt reports :interrupted and leaves {GazetteRunner.running}.
    def abandon(error)
      @done = true
      @native&.abort
    ensure
      @workers&.each { |worker| unwind(worker, error) }
    end

    def unwind(worker, error)
      return unless worker.alive?

      worker.raise(error || CancelledError.new(nil, "a command"))
    rescue Exception # rubocop:disable Lint/RescueException -- the Fiber ends with it; the batch raises its own
      nil
    end

    # One command of the batch: its Call, run by a worker; the executor of its attempts.
    class Task
      # @return [Integer] the command's place in the input
      attr_reader :index
      # @return [Float] when a task between attempts is due again (Deadline.now's clock)
      attr_reader :wake_at

      # @param batch [Batch]
      # @param call [Call]
      # @param index [Integer]
      def initialize(batch, call, index)
        @batch = batch
        @call = call
        @index = index
        @state = :not_started
      end

      # Goes on with the command in its worker: `outcome` is its program's,
      # or nil after a pause.
      # @param outcome [Native::Outcome, nil]
      # @return [void]
      def resume(outcome)
        @worker.resume(outcome)
      end

      # @return [Boolean] between attempts
      def pausing? = @state == :pausing
      # @return [Boolean]
      def failed? = @state == :failed

      # A hook of the running attempt raised; the native batch ended the program.
      # @param error [StandardError]
      # @return [void]
      def hook_failed(error)
        @hook_error = error
      end

      # Another command failed: the running program is being ended.
      # @return [void]
      def cancel
        @cancelled = true
      end

      # Runs this command's program in the batch and waits (by yielding) for its outcome.
      # @api private
      # @param call [Call]
      # @param bound [Float]
      # @param observer [#spawned]
      # @param hooks [Hash{Symbol=>#call}, nil]
      # @return [Native::Outcome]
      def execute(call, bound, observer, hooks)
        cancelled! if @batch.stopping?
        @hook_error = nil
        @batch.register(@batch.native.start(call, bound, observer, hooks), self)
        outcome = Fiber.yield
        raise @hook_error if @hook_error

        cancelled!(Result.from_native(call.argv, outcome)) if @cancelled
        outcome
      end

      # Waits between attempts by yielding to the batch.
      # @api private
      # @param seconds [Float]
      # @param _retry_policy [RetryPolicy] whose sleeper a batch does not use
      # @return [void]
      def pause(seconds, _retry_policy)
        @state = :pausing
        @wake_at = Deadline.now + seconds
        Fiber.yield
        @state = :running
        cancelled! if @batch.stopping?
      end

      # @return [Fate]
      def fate
        Fate.new(index:, argv: @call.argv, state: @state, result: @result, error: @error)
      end

      # Runs the command's attempts in the current worker, which yields
      # whenever its program runs or it waits between attempts.
      # @return [void]
      def perform
        @state = :running
        @worker = Fiber.current
        @result = @call.perform(self) { |result| GazetteRunner.__send__(:succeeded, result) }
        @state = :succeeded
      rescue CancelledError => e
        @state = :cancelled
        @error = e
      rescue StandardError => e
        # A gem error or the command's own callback's: this command failed.
        # Anything else (an interruption) ends the whole batch.
        raise unless e.is_a?(Error) || e.equal?(@hook_error)

        @state = :failed
        @error = e
      end

      private

      def cancelled!(result = nil)
        raise CancelledError.new(result, Redaction.program(@call.argv))
      end
    end
    private_constant :Task
  end
end
