# frozen_string_literal: true

require "fiddle"
require "json"
require "open3"
require "rbconfig"
require_relative "background"

# Measurement helpers shared by the workloads in bench/workloads/.
module Bench
  MIB = 1 << 20

  # glibc keeps freed heap memory resident; a baseline taken without trimming it
  # would hide (or inflate) what the next contender really needs.
  MALLOC_TRIM = Fiddle::Function.new(Fiddle.dlopen(nil)["malloc_trim"], [Fiddle::TYPE_SIZE_T], Fiddle::TYPE_INT)

  module_function

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # Runs `script` (a workload file) as a fresh Ruby process for one contender
  # and returns the Hash it prints as JSON: memory is per process, so a clean
  # process is the only fair baseline.
  def in_child_ruby(script, key, what)
    lib = File.expand_path("../lib", __dir__)
    json, status = Open3.capture2(RbConfig.ruby, "-I", lib, script, key.to_s)
    raise "#{what} of #{key} in a child failed" unless status.success?

    JSON.parse(json, symbolize_names: true)
  end

  # @return [Float] seconds the block took
  def timed
    start = now
    yield
    now - start
  end

  def median(values) = percentile(values, 50)

  # Linear interpolation between the closest ranks.
  def percentile(values, pct)
    sorted = values.sort
    return nil if sorted.empty?

    rank = pct / 100.0 * (sorted.size - 1)
    low = sorted[rank.floor]
    low + ((sorted[rank.ceil] - low) * (rank - rank.floor))
  end

  # @return [Integer] bytes of a "kB" field of /proc/self/status
  def status_bytes(field)
    Integer(File.read("/proc/self/status")[/^#{field}:\s+(\d+) kB$/, 1]) * 1024
  end

  # @return [Integer] a plain number field of /proc/self/status
  def status_value(field) = Integer(File.read("/proc/self/status")[/^#{field}:\s+(\d+)$/, 1])

  def rss = status_bytes("VmRSS")
  def peak_rss = status_bytes("VmHWM")

  # Resets VmHWM to the current RSS, so a later VmHWM is the peak of what ran
  # in between. Not every kernel or sandbox allows it.
  # @return [Boolean] whether the reset happened
  def reset_peak_rss
    File.write("/proc/self/clear_refs", "5")
    true
  rescue SystemCallError
    false
  end

  # Frees what is garbage and hands free heap memory back to the kernel, once
  # the extension's background work is done.
  def settle
    await_background
    GC.start
    MALLOC_TRIM.call(0)
  end

  # Pids of this process's live children, zombies excluded: a zombie is already
  # done and costs nothing but a process-table slot.
  def live_children
    Dir.glob("/proc/self/task/*/children").flat_map { |path| File.read(path).split.map { |pid| Integer(pid) } }
       .reject { |pid| zombie?(pid) }
  end

  def zombie?(pid)
    File.read("/proc/#{pid}/stat").split(") ").last.start_with?("Z")
  rescue SystemCallError
    true
  end

  def open_fds = Dir.children("/proc/self/fd").map(&:to_i).sort

  # The pid a script wrote to `path`, or nil while there is none.
  def pid_from(path)
    text = File.size?(path) && File.read(path)
    text && !text.strip.empty? ? Integer(text) : nil
  end

  # One line of /proc/PID/stat as [state, ppid, pgrp], or nil when it is gone.
  def stat_of(pid)
    stat = File.read("/proc/#{pid}/stat")
    stat[(stat.rindex(")") + 2)..].split.first(3).then { |state, ppid, pgrp| [state, ppid.to_i, pgrp.to_i] }
  rescue SystemCallError
    nil
  end

  def processes
    Dir.children("/proc").grep(/\A\d+\z/).filter_map { |pid| (stat = stat_of(pid)) && [pid.to_i, *stat] }
  end

  # Live (non-zombie) members of a process group.
  def group_members(pgid)
    processes.select { |_, state, _, pgrp| pgrp == pgid && !%w[Z X].include?(state) }.map(&:first)
  end

  def own_zombies = processes.select { |_, state, ppid, _| ppid == Process.pid && state == "Z" }.map(&:first)

  def reap_zombies
    own_zombies.each { |pid| Process.wait(pid, Process::WNOHANG) }
  rescue Errno::ECHILD
    nil
  end

  # SIGKILL to a pid (or, negative, a group) the bench started; never this
  # process or its own group.
  def kill_quietly(target)
    return if target.abs <= 1 || [Process.pid, -Process.getpgrp].include?(target)

    Process.kill(:KILL, target)
  rescue Errno::ESRCH, Errno::EPERM
    nil
  end

  # Runs the block with this process's stderr on /dev/null (backticks hand it
  # to the programs) and its stdin on a pipe that stays open, as a terminal's
  # or a supervisor's would: a runner that lets the program inherit it leaves
  # `cat` waiting. Yields a progress logger that still reaches the real stderr.
  def with_host_streams
    saved_in = $stdin.dup
    saved_err = $stderr.dup
    reader, writer = IO.pipe
    $stdin.reopen(reader)
    $stderr.reopen(File::NULL, "w")
    yield ->(message) { saved_err.puts("[bench #{format("%6.1f", now - STARTED)}s] #{message}") }
  ensure
    $stdin.reopen(saved_in)
    $stderr.reopen(saved_err)
    [saved_in, saved_err, reader, writer].each { |io| io&.close }
  end

  # Console progress goes to stderr so that stdout carries only the Markdown.
  def progress(message)
    warn "[bench #{format("%6.1f", now - STARTED)}s] #{message}"
  end

  STARTED = now
end
