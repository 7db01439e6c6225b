# frozen_string_literal: true

require "json"
require "rbconfig"
require "tmpdir"

# Starts and stops spec/support/fleet_worker.rb processes, each in a process
# group of its own, and only ever signals what it started.
module FleetHelpers
  Worker = Struct.new(:pid, :log, keyword_init: true) do
    def lines = File.exist?(log) ? File.readlines(log).map { |line| JSON.parse(line) } : []
    def alerts = lines.reject { |line| line.key?("ready") }
  end

  WORKER = File.expand_path("fleet_worker.rb", __dir__)

  def start_worker(redis_url, dir:, host:, children: 1, env: {})
    log = File.join(dir, "worker-#{host}-#{rand(1 << 30)}.log")
    pid = Process.spawn({ "REDIS_URL" => redis_url, "HOST_LABEL" => host, "CHILDREN" => children.to_s, **env },
                        RbConfig.ruby, WORKER, out: log, err: File::NULL, in: File::NULL, pgroup: true)
    worker = Worker.new(pid:, log:)
    eventually(within: 20, every: 0.05) { worker.lines.any? { |line| line.key?("ready") } } ||
      raise("fleet worker #{host} did not start")
    worker
  end

  # TERM, then KILL after `within` seconds; then the worker's own process
  # group (its children run in groups of their own: pass their pids).
  def stop_worker(worker, child_pids: [], within: 5)
    signal(:TERM, worker.pid)
    reap(worker.pid, within) || (signal(:KILL, worker.pid) && reap(worker.pid, 5))
    child_pids.each { |pid| signal(:KILL, -pid) }
  end

  def signal(name, pid)
    Process.kill(name, pid)
    true
  rescue Errno::ESRCH
    false
  end

  def reap(pid, within)
    eventually(within:, every: 0.02) { Process.wait(pid, Process::WNOHANG) }
  rescue Errno::ECHILD
    true
  end
end
