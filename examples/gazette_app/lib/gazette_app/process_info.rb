# frozen_string_literal: true

module GazetteApp
  # Facts about processes, read from /proc: for the demo and the replay spec.
  module ProcessInfo
    module_function

    # Living processes whose argv mentions `marker` (a directory unique to one
    # run), found through /proc/*/cmdline; never by program name.
    # @return [Array<Array(Integer, Array<String>)>] pid and argv of each
    def mentioning(marker, except: [])
      Dir.glob("/proc/[0-9]*/cmdline").filter_map do |path|
        pid = path[%r{/proc/(\d+)/}, 1].to_i
        argv = File.binread(path).split("\0")
        [pid, argv] if mentions?(argv, marker) && !except.include?(pid) && pid != Process.pid && !zombie?(pid)
      rescue Errno::ENOENT, Errno::ESRCH
        nil
      end
    end

    def mentions?(argv, marker) = argv.any? { |arg| arg.include?(marker) }

    def zombie?(pid)
      stat = File.read("/proc/#{pid}/stat")
      %w[Z X x].include?(stat[stat.rindex(")") + 2])
    end

    # Resident memory, in bytes (VmRSS).
    def rss(pid) = File.read("/proc/#{pid}/status")[/^VmRSS:\s+(\d+) kB/, 1].to_i * 1024

    # Open descriptors.
    def fd_count(pid) = Dir.children("/proc/#{pid}/fd").size
  end
end
