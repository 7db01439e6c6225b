# frozen_string_literal: true

require "rbconfig"

SOAK_RECORD_SECONDS = 600

desc "Soak: 25 threads of mixed runs for SECONDS (default 60) or 100,000 runs; fails if RSS, fds or threads drift"
task :soak, [:seconds] => :compile do |_task, args|
  sh RbConfig.ruby, "-Ilib", "bench/soak.rb", (args[:seconds] || "60").to_s
end

namespace :soak do
  desc "The #{SOAK_RECORD_SECONDS} s soak whose table is bench/SOAK.md (run it on a quiet machine)"
  task record: :compile do
    sh RbConfig.ruby, "-Ilib", "bench/soak.rb", SOAK_RECORD_SECONDS.to_s, "--write", "bench/SOAK.md"
  end
end
