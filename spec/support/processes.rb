# frozen_string_literal: true

require "rbconfig"

# Facts about real processes, read from /proc, and bounded waits. Tests only
# ever signal processes they started, by pid or process-group id.
module ProcessHelpers
  # One entry of /proc/PID/stat.
  ProcEntry = Struct.new(:pid, :state, :ppid, :pgrp, keyword_init: true)

  def proc_table
    Dir.children("/proc").grep(/\A\d+\z/).filter_map do |pid|
      stat = File.read("/proc/#{pid}/stat")
      fields = stat[(stat.rindex(")") + 2)..].split
      ProcEntry.new(pid: pid.to_i, state: fields[0], ppid: fields[1].to_i, pgrp: fields[2].to_i)
    rescue Errno::ENOENT, Errno::ESRCH
      nil
    end
  end

  def live?(entry) = !%w[Z X x].include?(entry.state)

  # Living (non-zombie) members of a process group.
  def live_group_members(pgid) = proc_table.select { |e| e.pgrp == pgid && live?(e) }.map(&:pid)

  # True while the process exists and is not a zombie.
  def alive?(pid)
    stat = File.read("/proc/#{pid}/stat")
    !%w[Z X x].include?(stat[(stat.rindex(")") + 2)])
  rescue Errno::ENOENT, Errno::ESRCH
    false
  end

  # Zombies whose parent is this test process: a run that forgot to reap.
  def own_zombies = proc_table.select { |e| e.ppid == Process.pid && e.state == "Z" }.map(&:pid)

  # This process's descriptors, once a full GC has run: an IO object an earlier
  # example dropped is closed by its finalizer then, not in the middle of the
  # next example's before/after comparison.
  def open_fds
    GC.start
    Dir.children("/proc/self/fd").map(&:to_i).sort
  end

  # Polls until the block is true or `within` seconds pass; returns the block's last value.
  def eventually(within: 3, every: 0.01)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + within
    loop do
      value = yield
      return value if value || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep every
    end
  end

  # A bound on elapsed time. Under `rake spec:gc` every allocation runs a full
  # GC, so what is checked there is behaviour, and time bounds are stretched.
  def time_bound(seconds) = ENV["GAZETTE_GC_STRESS"] == "1" ? seconds * 30 : seconds

  def elapsed
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    yield
    Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
  end

  def sh(script) = ["sh", "-c", script]

  # The pid a script wrote to `path` (`echo $$ > path`), or nil while there is none.
  def pid_from(path)
    text = File.size?(path) && File.read(path)
    text && !text.empty? ? Integer(text) : nil
  end

  # Clean-up after a failed expectation: SIGKILL to a process group (or a
  # single pid) this test started. Never a broad kill.
  def kill_group(pgid) = pgid && kill_quietly(-pgid)
  def kill_pid(pid) = kill_quietly(pid)

  # Refuses the test process itself and its own group, whatever a pid file said.
  def kill_quietly(target)
    return if target.nil? || target.abs <= 1 || [Process.pid, -Process.getpgrp].include?(target)

    Process.kill(:KILL, target)
  rescue Errno::ESRCH, Errno::EPERM
    nil
  end

  # Runs a Ruby child with this gem loaded and returns [status, stdout, stderr],
  # killing it (by pid) if it outlives `within` seconds.
  def run_ruby_child(code, within: 20)
    out_r, out_w = IO.pipe
    err_r, err_w = IO.pipe
    pid = Process.spawn(RbConfig.ruby, "-I", File.expand_path("../../lib", __dir__), "-e", code,
                        out: out_w, err: err_w, in: File::NULL)
    [out_w, err_w].each(&:close)
    status = bounded_wait(pid, within)
    [status, out_r.read, err_r.read]
  ensure
    [out_r, err_r].each { |io| io&.close }
  end

  # What a failure-matrix scenario's call sees: `script` runs text under sh -c
  # after recording the shell's pid (its process-group id) in `pidfile`.
  ScriptContext = Struct.new(:pidfile, :daemon_pidfile, :helpers) do
    def script(text) = ["sh", "-c", "echo $$ > #{pidfile}; #{text}"]

    def wait_for_start
      helpers.eventually(within: 5) { helpers.pid_from(pidfile) } or raise "the program did not start"
    end
  end

  def bounded_wait(pid, within)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + within
    loop do
      _, status = Process.wait2(pid, Process::WNOHANG)
      return status if status

      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        Process.kill(:KILL, pid)
        Process.wait(pid)
        raise "child #{pid} did not finish within #{within} s"
      end
      sleep 0.01
    end
  end
end
