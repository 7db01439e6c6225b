# frozen_string_literal: true

# The reference application: a minimal stand-in for a Rails app (ActiveRecord,
# ActionMailer, Sidekiq, no Rails itself). Everything that varies between the
# demo, the replay spec and production comes from the environment:
#
#   GAZETTE_VAR_DIR         database, mails and page files (default: tmp/ here)
#   REDIS_URL               the Redis that Sidekiq uses
#   GAZETTE_JOB_DEADLINE    seconds for the whole document, fanned out or not (default 1800, 30 minutes)
#   GAZETTE_SCRIPT_TIMEOUT  seconds for the slicer (default 900, 15 minutes)
#   GAZETTE_KILL_AFTER      seconds between SIGTERM and SIGKILL (default 5)
#   GAZETTE_PYTHON          the interpreter (default Debian's /usr/bin/python3, which has pypdf)
#   GAZETTE_DB_POOL         ActiveRecord connections (default 25, >= Sidekiq's concurrency)
#   GAZETTE_FAN_OUT_ABOVE   gazettes with more pages are sliced in chunks by several jobs (default 100)
#   GAZETTE_CHUNK_PAGES     pages per chunk (default 100)
#   GAZETTE_CHUNK_RETRIES   the gem's retries of a chunk's slicer (timeout, exit error; default 1)
#   GAZETTE_CHUNK_BACKOFF   seconds before a chunk's retry, at most (default 1)
#   GAZETTE_CANCEL_POLL     seconds between looks at the cancel flags of running chunks (default 0.2)
#   GAZETTE_SCHEDULE_POLL   Sidekiq's average poll of scheduled jobs, seconds (default: Sidekiq's, 5 × processes)
require "fileutils"
require "json"
require "logger"
require "active_record"
require "action_mailer"
require "sidekiq"
require "gazette_runner"
require "gazette_runner/sidekiq"
require_relative "../lib/gazette_app/timing"

# The application's configuration and boot.
module GazetteApp
  ROOT = File.expand_path("..", __dir__)

  # The post-mortem's Sidekiq connection limits. Sidekiq 6.4 wants a pool of at
  # least concurrency + 2, so a worker runs at most 23 threads.
  REDIS_POOL = { size: 25, network_timeout: 10, pool_timeout: 5 }.freeze

  Config = Struct.new(:var_dir, :redis_url, :job_deadline, :script_timeout, :kill_after,
                      :python, :db_pool, :fan_out_above, :chunk_pages, :chunk_retries, :chunk_backoff,
                      :cancel_poll, :schedule_poll, keyword_init: true) do
    def database = File.join(var_dir, "gazette.sqlite3")
    def mail_dir = File.join(var_dir, "mails")
    def output_root = File.join(var_dir, "slices")
    def slicer = File.join(ROOT, "script", "slice_gazette.py")
  end

  class << self
    attr_reader :config
    attr_accessor :logger

    def configure(env = ENV)
      @config = Config.new(
        var_dir: File.expand_path(env.fetch("GAZETTE_VAR_DIR", File.join(ROOT, "tmp"))),
        redis_url: env.fetch("REDIS_URL", "redis://127.0.0.1:6379/0"),
        python: env.fetch("GAZETTE_PYTHON", "/usr/bin/python3"),
        db_pool: Integer(env.fetch("GAZETTE_DB_POOL", 25)),
        **durations(env), **fan_out(env)
      ).freeze
    end

    # Large gazettes are sliced in page ranges by parallel jobs (see docs/fan_out.md).
    def fan_out(env)
      { fan_out_above: Integer(env.fetch("GAZETTE_FAN_OUT_ABOVE", 100)),
        chunk_pages: Integer(env.fetch("GAZETTE_CHUNK_PAGES", 100)),
        chunk_retries: Integer(env.fetch("GAZETTE_CHUNK_RETRIES", 1)),
        chunk_backoff: Float(env.fetch("GAZETTE_CHUNK_BACKOFF", 1)),
        cancel_poll: Float(env.fetch("GAZETTE_CANCEL_POLL", 0.2)),
        schedule_poll: env["GAZETTE_SCHEDULE_POLL"]&.then { |seconds| Float(seconds) } }
    end

    # The job's bounds, in seconds: 30 minutes per job, 15 for the script.
    def durations(env)
      { job_deadline: Float(env.fetch("GAZETTE_JOB_DEADLINE", 30 * 60)),
        script_timeout: Float(env.fetch("GAZETTE_SCRIPT_TIMEOUT", 15 * 60)),
        kill_after: Float(env.fetch("GAZETTE_KILL_AFTER", 5)) }
    end

    def boot!
      configure unless config
      FileUtils.mkdir_p([config.var_dir, config.mail_dir, config.output_root])
      configure_logging
      connect_database
      configure_mailer
      configure_sidekiq
    end

    private

    def configure_logging
      self.logger ||= Sidekiq.server? ? Sidekiq.logger : Logger.new($stderr, level: :info)
      # The gem logs its start/finish/stderr_tail JSON lines through the app's logger.
      GazetteRunner.logger = logger
      ActiveRecord::Base.logger = nil
    end

    def connect_database
      require "active_record/connection_adapters/sqlite3_adapter"
      ActiveRecord::ConnectionAdapters::SQLite3Adapter.prepend(RubyBusyWait)
      ActiveRecord::Base.establish_connection(adapter: "sqlite3", database: config.database, pool: config.db_pool)
      # Several workers may boot at once on a new database: one loads the schema at a time
      # (Schema.define's own bookkeeping row would otherwise be inserted twice).
      File.open("#{config.database}.schema-lock", File::CREAT | File::RDWR) do |lock|
        lock.flock(File::LOCK_EX)
        ActiveRecord::Base.connection_pool.with_connection { |connection| load_schema(connection) }
      end
    end

    def load_schema(connection)
      # WAL lets readers (a status page, the demo) read while a job writes.
      connection.execute("PRAGMA journal_mode=WAL")
      ActiveRecord::Migration.verbose = false
      load File.join(ROOT, "db", "schema.rb")
    end

    def configure_mailer
      ActionMailer::Base.delivery_method = :file
      ActionMailer::Base.file_settings = { location: config.mail_dir }
      ActionMailer::Base.raise_delivery_errors = true
      ActionMailer::Base.logger = nil
    end

    def configure_sidekiq
      # Sidekiq 6.4 calls redis-rb 4.8 in ways it deprecates (brpop's timeout); one warning per fetch.
      Redis.silence_deprecations = true
      Sidekiq.configure_server { |sidekiq| configure_server(sidekiq) }
      Sidekiq.configure_client { |sidekiq| sidekiq.redis = redis_settings("client") }
    end

    def configure_server(sidekiq)
      sidekiq.redis = redis_settings("worker")
      sidekiq.server_middleware { |chain| chain.add ReleaseConnections }
      # The deadline watchdog is a scheduled job: how late it may run is this poll.
      sidekiq.options[:poll_interval_average] = config.schedule_poll if config.schedule_poll
      sidekiq.on(:startup) { warm_up_mailer }
      # The fleet dashboard: job tracking, and a snapshot of this worker
      # published every 2 s (on a connection of its own, not the jobs' pool).
      GazetteRunner::Sidekiq.install(sidekiq, interval: 2)
    end

    # The mail gem loads most of itself on the first message (1.2 s here), which
    # would land on the first job's mail: a fan-in's latency. Rendering one
    # unsent message at startup loads it, as Rails' eager_load does in production.
    # (The records are not saved, but building them reads the schema: the
    # connection goes back to the pool, or the launcher's thread would keep one.)
    def warm_up_mailer
      ActiveRecord::Base.connection_pool.with_connection do
        document = Document.new(title: "warm-up", description: "warm-up")
        DocumentProcessingMailer.document_processing_complete(User.new(email: "warm-up@example.test"), document,
                                                              "success").message.to_s
      end
    end

    # Named, so `CLIENT LIST` tells this process's connections from others'.
    def redis_settings(role) = REDIS_POOL.merge(url: config.redis_url, id: "gazette-#{role}-#{Process.pid}")
  end

  # SQLite's busy timeout, waited in Ruby: a writer waits up to 10 s for the
  # lock instead of failing with SQLITE_BUSY when job threads write at once.
  # (The sqlite3 gem's own `busy_timeout`, AR's `timeout:`, sleeps in C holding
  # the GVL: the thread holding the lock then cannot run to commit, and the
  # whole worker stalls for the full timeout.)
  module RubyBusyWait
    BUSY_WAIT = 0.005
    BUSY_RETRIES = 2000

    def configure_connection
      super
      @connection.busy_handler { |count| count < BUSY_RETRIES && sleep(BUSY_WAIT) }
    end
  end

  # What Rails' executor does around a job: give the thread's database
  # connection back to the pool, so the pool never needs more than the
  # number of job threads.
  class ReleaseConnections
    def call(_worker, _job, _queue)
      yield
    ensure
      ActiveRecord::Base.clear_active_connections!
    end
  end
end

require_relative "../lib/gazette_app/cancellation"
require_relative "../app/models/user"
require_relative "../app/models/document"
require_relative "../app/models/chunk_plan"
require_relative "../app/models/document_batch"
require_relative "../app/mailers/document_processing_mailer"
require_relative "../app/jobs/document_job"
require_relative "../app/jobs/document_processing_job"
require_relative "../app/jobs/document_chunk_job"
require_relative "../app/jobs/document_watchdog_job"
