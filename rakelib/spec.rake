# frozen_string_literal: true

require "rbconfig"

desc "Run the specs, except those tagged :gc_stress"
task spec: :compile do
  sh RbConfig.ruby, "-S", "rspec", "--tag", "~gc_stress"
end

namespace :spec do
  desc "Run only the :gc_stress specs, with GC.stress on (GAZETTE_GC_STRESS=1)"
  task gc: :compile do
    sh({ "GAZETTE_GC_STRESS" => "1" }, RbConfig.ruby, "-S", "rspec", "--tag", "gc_stress")
  end
end
