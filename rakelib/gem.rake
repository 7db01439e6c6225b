# frozen_string_literal: true

require "fileutils"
require "rbconfig"
require_relative "../lib/gazette_runner/version"

desc "Build pkg/gazette_runner-#{GazetteRunner::VERSION}.gem"
task :gem do
  FileUtils.mkdir_p("pkg")
  sh RbConfig.ruby, "-S", "gem", "build", "gazette_runner.gemspec",
     "--output", "pkg/gazette_runner-#{GazetteRunner::VERSION}.gem"
end
