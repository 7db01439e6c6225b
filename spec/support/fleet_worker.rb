# frozen_string_literal: true

# A stand-in for one Sidekiq worker process, started by the fleet and browser
# specs: it publishes its snapshot to REDIS_URL every 0.3 s (over the specs'
# RedisDriver), runs CHILDREN programs that report progress and sleep, tracks
# one long "job", and prints each alert it delivers as a JSON line. TERM stops it (its children are
# ended with it).
$LOAD_PATH.unshift(File.expand_path("../../lib", __dir__))
require "json"
require_relative "redis_driver"
require "gazette_runner/fleet"

$stdout.sync = true
GazetteRunner.on_alert { |alert| puts JSON.generate(alert.to_h) }
GazetteRunner::Fleet.start(redis: -> { RedisDriver.connect(ENV.fetch("REDIS_URL"), timeout: 1) },
                           interval: 0.3, ttl: 1.2, host: ENV.fetch("HOST_LABEL", "host"),
                           long_job_seconds: Float(ENV.fetch("LONG_JOB", "1200")), min_runs: 1)
at_exit { GazetteRunner::Fleet.stop }
STOPPING = Queue.new
Signal.trap(:TERM) do
  STOPPING << true
  exit
end

slicer = GazetteRunner::CircuitBreaker.new("slicer", threshold: 3)
Integer(ENV.fetch("CHILDREN", "1")).times do |i|
  Thread.new do
    while STOPPING.empty?
      begin
        GazetteRunner.run(["sh", "-c", "echo 'PROGRESS 40 slicing page #{i + 1}' >&2; exec sleep 10", "gazette.pdf",
                           "--token", "s3cret-#{i}"], timeout: 60, breaker: slicer)
      rescue GazetteRunner::Error
        sleep 0.1
      end
    end
  end
end
GazetteRunner.run(%w[true], breaker: slicer)
puts JSON.generate("ready" => Process.pid)
GazetteRunner::Fleet::Jobs.track(jid: "jid-#{Process.pid}", klass: "DocumentProcessingJob", queue: "documents") do
  sleep
end
