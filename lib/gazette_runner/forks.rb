# frozen_string_literal: true

module GazetteRunner
  # Counts the forks this process came from, as Ruby makes them: `fork`,
  # `Process.fork` and `IO.popen("-")` (all through `Process._fork`) and
  # `Process.daemon`. Comparing a kept count with {.count} tells a forked child
  # from its parent without `Process.pid`, which is a system call: {Stats}
  # asks on every run, and after the program's wait a system call costs the
  # run several microseconds more than its own (bench row 1c).
  # @api private
  module Forks
    @count = 0

    class << self
      # @return [Integer] how many forks made this process, counted from when the gem was loaded
      attr_reader :count

      # In the child, once forked: also drops what the native extension
      # keeps for the parent's runs (its running programs, its stats records).
      # @return [void]
      def forked!
        @count += 1
        Native.after_fork
      end
    end

    # Prepended onto Process's singleton class.
    module Hook
      # @return [Integer] the child's pid in the parent, 0 in the child
      def _fork
        pid = super
        Forks.forked! if pid.zero?
        pid
      end

      # Returns only in the daemon, a forked child.
      # @return [Integer] 0
      def daemon(...)
        super.tap { Forks.forked! }
      end
    end
    Process.singleton_class.prepend(Hook)
  end
  private_constant :Forks
end
