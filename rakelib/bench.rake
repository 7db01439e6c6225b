# frozen_string_literal: true

require "rbconfig"

desc "Run bench/run.rb (placeholder until benchmarks exist)"
task bench: :compile do
  if File.exist?("bench/run.rb")
    sh RbConfig.ruby, "-Ilib", "bench/run.rb"
  else
    puts "bench/run.rb does not exist yet; nothing to run"
  end
end
