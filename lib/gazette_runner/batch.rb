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
  # nothing runs in parallel in Ruby, and no thread is started. A command
  # with no option, while nothing takes reports ({Call#plain?}), is a native
  # plain run instead of an attempt: it lists itself and counts itself in the
  # stats, with the same fates and counts.
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
      @stopping = @stopped = false # a worker saw a failure; the rest were stopped
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
    def register(key, task) = (@running[key] = task)

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
        stop
      end
      while @workers.any?(&:alive?)
        @native.wait(wait_limit)&.each { |event| deliver(*event) }
        wake_pausing # also when programs keep finishing: a due retry must not starve
        stop
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

    # Fail fast, once a worker saw a failure: cancel every running program
    # (SIGTERM, SIGKILL after its kill_after) and every task between
    # attempts; the workers take no more.
    def stop
      return unless @stopping && !@stopped

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
      # Before any worker runs again: one that goes on after its command was
      # unwound must take no other, and an unwound command must not retry.
      @stopping = true
      @native&.abort
    ensure
      @workers&.each { |worker| unwind(worker, error) }
    end

    def unwind(worker, error)
      worker.raise(error || CancelledError.new(nil, "a command")) if worker.alive?
    rescue Exception # rubocop:disable Lint/RescueException -- the Fiber ends with it; the batch raises its own
      nil
    end
  end
end

require_relative "batch/task"
