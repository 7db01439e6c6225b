# frozen_string_literal: true

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "gazette_runner"
require_relative "support/processes"

RSpec.configure do |config|
  config.include ProcessHelpers
  config.disable_monkey_patching!
  config.order = :random
  Kernel.srand config.seed

  # `rake spec:gc` reruns the examples that cross the binding under GC.stress,
  # with GC.compact running in another thread, to catch a Ruby object touched
  # without the GVL or kept where the GC cannot see it.
  if ENV["GAZETTE_GC_STRESS"] == "1"
    config.around(:each, :gc_stress) do |example|
      compactor = Thread.new do
        loop do
          GC.compact
          sleep 0.01
        end
      end
      GC.stress = true
      example.run
    ensure
      GC.stress = false
      compactor&.kill&.join(5)
    end
  end
end
