# frozen_string_literal: true

require "json"
require "logger"
require "stringio"

RSpec.describe GazetteRunner::JobContext do
  def log_lines = @log.string.lines.map { |line| JSON.parse(line) }

  before do
    @log = StringIO.new
    GazetteRunner.logger = Logger.new(@log, formatter: ->(*, message) { "#{message}\n" })
  end

  after { GazetteRunner::Instrumentation.default_logger! }

  it "puts the job's ids on every log line and event of a run inside it" do
    events = events_of do
      described_class.with(job_class: "DocumentProcessingJob", job_id: "aj-1", jid: "sk-1", queue: "documents") do
        GazetteRunner.run(sh("echo oops >&2; exit 3"), timeout: 5)
      end
    end

    expect(log_lines.map { |line| line["gazette_runner"] }).to eq(%w[start finish stderr_tail])
    expect(log_lines).to all(include("job_class" => "DocumentProcessingJob", "job_id" => "aj-1", "jid" => "sk-1",
                                     "queue" => "documents"))
    expect(events.map(&:job)).to eq([{ job_class: "DocumentProcessingJob", job_id: "aj-1", jid: "sk-1",
                                       queue: "documents" }])
    expect(events.first.to_h).to include(job: events.first.job)
  end

  it "adds nothing outside a job" do
    events = events_of { GazetteRunner.run(%w[true], timeout: 5) }
    expect(log_lines).to all(satisfy { |line| (line.keys & %w[job_class job_id jid queue]).empty? })
    expect(events.first.job).to eq({})
  end

  it "merges nested contexts, leaves nil fields out and restores the outer one, even on a raise" do
    described_class.with(jid: "sk-1", job_class: "ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper") do
      expect do
        described_class.with(job_class: "SliceJob", job_id: "aj-1", queue: nil) do
          expect(described_class.current).to eq(job_class: "SliceJob", job_id: "aj-1", jid: "sk-1")
          raise "boom"
        end
      end.to raise_error(RuntimeError, "boom")
      expect(described_class.current).to eq(job_class: "ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper",
                                            jid: "sk-1")
    end
    expect(described_class.current).to eq({})
  end

  it "belongs to the fiber that set it: a thread the job starts does not inherit it" do
    seen = described_class.with(job_id: "aj-1") { Thread.new { described_class.current }.value }
    expect(seen).to eq({})
  end

  it "refuses an unknown field" do
    expect { described_class.with(job: "x") { nil } }
      .to raise_error(ArgumentError, "unknown job context fields: job (known: job_class, job_id, jid, queue)")
  end

  describe GazetteRunner::JobContext::SidekiqMiddleware do
    it "runs the job with its jid, queue and the wrapped (ActiveJob) class" do
      payload = { "class" => "ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper", "wrapped" => "SliceJob",
                  "jid" => "b2c4", "queue" => "documents" }
      seen = described_class.new.call(Object.new, payload, "documents") { GazetteRunner::JobContext.current }
      expect(seen).to eq(job_class: "SliceJob", jid: "b2c4", queue: "documents")
      expect(GazetteRunner::JobContext.current).to eq({})
    end
  end

  # ActiveJob itself, with its inline adapter, in a child process: loading it
  # here would change what other specs see (ActiveSupport, Rails-less logging).
  describe GazetteRunner::JobContext::ActiveJobHook do
    it "runs every ActiveJob with its class, job_id, queue and provider_job_id" do
      code = <<~RUBY
        require "active_job"
        require "gazette_runner"
        ActiveJob::Base.logger = Logger.new(nil)
        ActiveJob::Base.queue_adapter = :inline
        ActiveJob::Base.include(GazetteRunner::JobContext::ActiveJobHook)
        class SliceJob < ActiveJob::Base
          queue_as :documents

          def perform = GazetteRunner.run(%w[true])
        end
        GazetteRunner.subscribe { |event| puts JSON.generate(event.job) }
        job = SliceJob.new
        job.provider_job_id = "sk-7"
        job.perform_now
        puts JSON.generate(job_id: job.job_id)
      RUBY
      status, out, err = run_ruby_child(code, within: 30)
      expect(status).to be_success, err
      context, job = out.lines.map { |line| JSON.parse(line) }
      expect(context).to eq("job_class" => "SliceJob", "job_id" => job.fetch("job_id"), "jid" => "sk-7",
                            "queue" => "documents")
    end
  end
end
