# frozen_string_literal: true

# Turns GC.stress on for the duration of each call into the native extension.
# GC.stress is process-wide, so concurrent calls share it: it is on while any
# call is in flight.
module GcStressedNative
  LOCK = Mutex.new
  @in_flight = 0

  class << self
    def enter
      LOCK.synchronize do
        @in_flight += 1
        GC.stress = true
      end
    end

    def leave
      LOCK.synchronize do
        @in_flight -= 1
        GC.stress = false if @in_flight.zero?
      end
    end

    # A module whose methods `names` run their original with GC.stress on.
    def wrapping(*names)
      Module.new do
        names.each do |name|
          define_method(name) do |*args|
            GcStressedNative.enter
            begin
              super(*args)
            ensure
              GcStressedNative.leave
            end
          end
        end
      end
    end
  end
end
