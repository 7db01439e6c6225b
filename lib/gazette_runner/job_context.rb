# frozen_string_literal: true

module GazetteRunner
  # The background job a run belongs to, so that the gem's log lines and
  # events carry its ids: ActiveJob's `job_id`, Sidekiq's `jid`, the job's
  # class and queue. Set around a job by {ActiveJobHook} and {SidekiqMiddleware}
  # (the Railtie installs both), or by any code with {.with}. Kept per fiber
  # (`Thread.current[]` is fiber-local): a thread the job starts does not
  # inherit it.
  #
  #   GazetteRunner::JobContext.with(job_id: job.job_id, job_class: "DocumentProcessingJob") do
  #     GazetteRunner.run(argv) # logged with "job_id" and "job_class"
  #   end
  module JobContext
    # The fields a context may hold, in the order log lines show them.
    FIELDS = %i[job_class job_id jid queue].freeze
    KEY = :gazette_runner_job_context
    NONE = {}.freeze
    private_constant :KEY, :NONE

    class << self
      # @return [Hash{Symbol=>String}] the context of the job running on this
      #   fiber (frozen; empty outside a job)
      def current = Thread.current[KEY] || NONE

      # Runs the block with these fields added to the current context (an
      # inner job's fields win; nil fields are left out), then restores it.
      # @param fields [Hash{Symbol=>#to_s, nil}] any of {FIELDS}
      # @return [Object] the block's value
      # @raise [ArgumentError] an unknown field
      def with(**fields)
        unknown = fields.keys - FIELDS
        unless unknown.empty?
          raise ArgumentError, "unknown job context fields: #{unknown.join(", ")} (known: #{FIELDS.join(", ")})"
        end

        outer = Thread.current[KEY]
        Thread.current[KEY] = merged(outer || NONE, fields)
        begin
          yield
        ensure
          Thread.current[KEY] = outer
        end
      end

      private

      def merged(outer, fields)
        added = fields.compact.transform_values { |value| value.to_s.dup.freeze }
        FIELDS.each_with_object({}) do |name, context|
          value = added.fetch(name) { outer[name] }
          context[name] = value if value
        end.freeze
      end
    end

    # Included into ActiveJob::Base (the Railtie does it): every job's
    # `perform` runs inside {JobContext.with} its class, `job_id`, queue and,
    # under the Sidekiq adapter, the Sidekiq `jid` (ActiveJob's `provider_job_id`).
    module ActiveJobHook
      # @param base [Class] ActiveJob::Base or a job class
      # @return [void]
      def self.included(base)
        base.around_perform do |job, block|
          JobContext.with(job_class: job.class.name, job_id: job.job_id, jid: job.provider_job_id,
                          queue: job.queue_name, &block)
        end
      end
    end

    # A Sidekiq server middleware: the job runs inside {JobContext.with} its
    # `jid`, its class (the ActiveJob class rather than the JobWrapper) and queue.
    #
    #   Sidekiq.configure_server do |config|
    #     config.server_middleware { |chain| chain.add(GazetteRunner::JobContext::SidekiqMiddleware) }
    #   end
    class SidekiqMiddleware
      # @param _worker [Object] the job instance
      # @param job [Hash] the job's payload
      # @param queue [String]
      # @return [Object] what the job returned
      def call(_worker, job, queue, &)
        JobContext.with(job_class: job["wrapped"] || job["class"], jid: job["jid"], queue:, &)
      end
    end
  end
end
