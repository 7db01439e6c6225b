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

  # Sources of gems Debian does not ship (../shared/vendor/README.md), beside
  # the clone; GAZETTE_VENDOR points elsewhere.
  vendor = File.expand_path(ENV.fetch("GAZETTE_VENDOR", "../shared/vendor"), File.expand_path("..", __dir__))
  sidekiq7 = %w[sidekiq-7.3.10 redis-client-0.30.0 connection_pool-2.5.5]

  desc "Rerun the fleet, dashboard and Sidekiq specs (:sidekiq) on the vendored Sidekiq 7.3.10 + redis-client " \
       "(and Sidekiq 8.1.7's web code); `spec` runs them on Debian's Sidekiq 6.4.1 + redis-rb"
  task sidekiq7: :compile do
    libs = sidekiq7.map { |name| File.join(vendor, name, "lib") }
    missing = [*libs, File.join(vendor, "sidekiq-8.1.7", "lib")].reject { |dir| File.directory?(dir) }
    unless missing.empty?
      abort "spec:sidekiq7: vendored gem sources missing: #{missing.join(", ")}\n" \
            "(expected in #{vendor}, beside the clone; set GAZETTE_VENDOR to their directory)"
    end
    env = { "RUBYLIB" => [*libs, ENV.fetch("RUBYLIB", nil)].compact.join(File::PATH_SEPARATOR),
            "GAZETTE_SPEC_SIDEKIQ" => "7.3.10", "GAZETTE_SPEC_REDIS" => "redis-client", "GAZETTE_VENDOR" => vendor }
    sh env, RbConfig.ruby, "-S", "rspec", "--tag", "sidekiq"
  end
end
