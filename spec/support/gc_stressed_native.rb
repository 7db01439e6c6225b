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
  end

  %i[execute parse_json].each do |name|
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

# The same for the native batch of run_all, whose slots keep Ruby values
# (output Strings, hooks) that its mark function must show the GC.
module GcStressedBatch
  %i[start wait cancel abort].each do |name|
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
