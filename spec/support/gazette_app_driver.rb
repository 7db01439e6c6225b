# frozen_string_literal: true

require "json"
require "sqlite3"
require_relative "../../examples/gazette_app/lib/gazette_app/stack"

# Drives the reference app (examples/gazette_app) from outside, as the
# integration specs do: enqueues through its bin/enqueue in a child process,
# reads its SQLite database and mails. The including example sets @env (the
# app's environment, with REDIS_URL) and @var (its GAZETTE_VAR_DIR).
module GazetteAppDriver
  # Enqueues through the app (examples/gazette_app/bin/enqueue), in a child process.
  # @param batches [Array<Array(Array<String>, Integer)>] flags and count
  def enqueue(batches, pdf: @pdf, shuffle: true, chunk_faults: {})
    jobs = batches.map { |flags, count| { flags:, count:, chunk_faults: } }
    plan = { pdf:, shuffle:, seed: 42, jobs: }
    result = GazetteRunner.run!(["bundle", "exec", "ruby", "#{GazetteApp::Stack::APP_ROOT}/bin/enqueue"],
                                env: @env.merge("BUNDLE_GEMFILE" => GazetteApp::Stack::GEMFILE),
                                stdin: JSON.generate(plan), timeout: 60)
    JSON.parse(result.stdout)
  end

  def documents(ids)
    db = SQLite3::Database.new(File.join(@var, "gazette.sqlite3"), results_as_hash: true)
    db.busy_timeout = 2000
    db.execute("SELECT * FROM documents WHERE id IN (#{ids.map(&:to_i).join(",")})").to_h { |row| [row["id"], row] }
  ensure
    db&.close
  end

  def wait_for_documents(ids, within:)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + within
    loop do
      docs = documents(ids)
      finished = docs.values.all? { |d| %w[done failed].include?(d["status"]) && d["mailed_at"] }
      return docs if docs.size == ids.size && finished
      raise "jobs did not finish within #{within} s: #{docs.values.map { |d| d["status"] }.tally}" if
        Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.2
    end
  end

  # The subjects of the mails the app delivered to an address (ActionMailer's file delivery appends).
  def mails_to(email)
    path = File.join(@var, "mails", email)
    File.exist?(path) ? File.read(path).scan(/^Subject: (.*?)\r?$/).flatten : []
  end

  def make_gazette(path, pages:, notices: 1)
    GazetteRunner.run!(["/usr/bin/python3", "#{GazetteApp::Stack::APP_ROOT}/script/make_sample_gazette.py",
                        path, "--pages", pages.to_s, "--notices", notices.to_s], timeout: 60)
    path
  end
end
