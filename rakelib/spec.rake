# frozen_string_literal: true

require "rbconfig"

desc "Run every spec"
task spec: :compile do
  sh RbConfig.ruby, "-S", "rspec"
end

namespace :spec do
  desc "Rerun the :gc_stress subset (examples that cross the binding) under GC.stress and GC.compact"
  task gc: :compile do
    sh({ "GAZETTE_GC_STRESS" => "1" }, RbConfig.ruby, "-S", "rspec", "--tag", "gc_stress")
  end
end
