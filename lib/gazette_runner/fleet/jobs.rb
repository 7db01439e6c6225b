# frozen_string_literal: true

module GazetteRunner
  module Fleet
    # The jobs this process is running right now, as recorded by
    # `GazetteRunner::Sidekiq::JobTracking` (or any code that calls {.track}).
    # Published with the process's snapshot; the `long_job` alert reads it.
    module Jobs
      # One running job. Frozen.
      class Job
        # @return [String] Sidekiq's job id
        attr_reader :jid
        # @return [String] the job's class name
        attr_reader :klass
        # @return [String] its queue
        attr_reader :queue
        # @return [Float] Unix time it started
        attr_reader :started_at

        # @param jid [String]
        # @param klass [String]
        # @param queue [String]
        # @param started_at [Float] Unix time
        def initialize(jid:, klass:, queue:, started_at:)
          @jid = jid.to_s.dup.freeze
          @klass = klass.to_s.dup.freeze
          @queue = queue.to_s.dup.freeze
          @started_at = started_at.to_f
          freeze
        end

        # @return [Hash{String=>Object}] JSON-ready
        def to_h = { "jid" => jid, "class" => klass, "queue" => queue, "started_at" => started_at }
      end

      LOCK = Mutex.new
      private_constant :LOCK
      @jobs = {}.compare_by_identity

      class << self
        # Records the job as running while the block runs.
        # @param jid [String]
        # @param klass [String]
        # @param queue [String]
        # @return [Object] the block's value
        def track(jid:, klass:, queue:)
          key = Object.new
          job = Job.new(jid:, klass:, queue:, started_at: Time.now.to_f)
          LOCK.synchronize { @jobs[key] = job }
          yield
        ensure
          LOCK.synchronize { @jobs.delete(key) }
        end

        # @return [Array<Job>] oldest first
        def all = LOCK.synchronize { @jobs.values }.sort_by(&:started_at)
      end
    end
  end
end
