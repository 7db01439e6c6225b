# frozen_string_literal: true

require "rbconfig"

desc "Check the API documentation: YARD coverage (100%), RBS signatures, rustdoc without warnings"
task docs: %i[docs:rbs docs:yard docs:rust]

namespace :docs do
  desc "cargo doc of the core crate with warnings as errors (it also denies missing docs)"
  task :rust do
    sh({ "RUSTDOCFLAGS" => "-D warnings" }, "cargo", "doc", "--no-deps", "-p", "gazette_runner_core")
  end

  desc "yard stats --list-undoc (options in .yardopts); fails unless 100% documented"
  task :yard do
    command = [RbConfig.ruby, "-S", "yard", "stats", "--list-undoc"]
    puts command.join(" ")
    output = IO.popen(command, err: %i[child out], &:read)
    puts output
    status = Process.last_status
    abort "docs:yard: yard stats failed (#{status})" unless status.success?

    percentage = output[/([\d.]+)% documented/, 1]
    abort "docs:yard: yard stats printed no coverage" if percentage.nil?
    # 100.00 alone could be a rounded 99.996; the list of undocumented objects is exact.
    if percentage != "100.00" || output.include?("Undocumented Objects:")
      abort "docs:yard: #{percentage}% documented; document the objects listed above"
    end
  end

  # Standard libraries sig/ refers to (Timeout::Error); spec/signatures_spec.rb
  # loads the same ones.
  rbs_libraries = %w[timeout]

  desc "rbs validate sig/ (rbs 2.x, a gem bundled with Debian's ruby, which installs no rbs command)"
  task :rbs do
    library_flags = rbs_libraries.flat_map { |library| ["-r", library] }
    sh RbConfig.ruby, "-e", 'load Gem.bin_path("rbs", "rbs")', "--",
       *library_flags, "-I", "sig", "validate", "--silent"
    puts "sig/ is valid"
  end
end
