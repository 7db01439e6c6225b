# frozen_string_literal: true

require "fileutils"
require "json"
require "rbconfig"

MEMCHECK_DIR = "tmp/memcheck"
# One report per process (%p). Every spawn forks under valgrind; a child that
# then execs leaves an unfinished report, which is skipped.
MEMCHECK_XML = "#{MEMCHECK_DIR}/valgrind.%p.xml".freeze
MEMCHECK_RSPEC_JSON = "#{MEMCHECK_DIR}/rspec.json".freeze
VALGRIND_FLAGS = [
  "--suppressions=spec/valgrind.supp", "--leak-check=full", "--show-leak-kinds=definite",
  "--errors-for-leak-kinds=definite",
  # Ruby's conservative GC reads uninitialised stack words by design.
  "--undef-value-errors=no",
  # The programs the specs run are not under test.
  "--trace-children=no", "--num-callers=50", "--xml=yes", "--xml-file=#{MEMCHECK_XML}"
].freeze

# Reads valgrind's XML report and sorts its errors into those with a frame in
# the extension (gazette_runner.so, where the Rust core and magnus are linked
# in) and the rest, which are Ruby's own.
module MemcheckReport
  EXTENSION_FRAME = /gazette_runner\.so|gazette_runner(_core)?::|magnus::/
  # An error is one of these kinds, or a leak ("Leak_DefinitelyLost").
  MEMORY_ERRORS = /\A(Invalid(Read|Write|Free|MemPool)|MismatchedFree|Overlap|SyscallParam|Leak_DefinitelyLost)\z/

  Finding = Struct.new(:kind, :what, :frames, keyword_init: true) do
    def extension? = frames.any? { |frame| frame.match?(EXTENSION_FRAME) }
    def to_s = "#{kind}: #{what}\n#{frames.first(20).map { |frame| "    #{frame}" }.join("\n")}"
  end

  module_function

  # @return [Array<Finding>] the memory errors and definite leaks valgrind reported
  def findings(path)
    require "rexml/document"
    document = REXML::Document.new(File.read(path))
    document.get_elements("//error").filter_map do |error|
      kind = error.get_text("kind").to_s
      next unless kind.match?(MEMORY_ERRORS)

      what = (error.get_text("xwhat/text") || error.get_text("what")).to_s
      Finding.new(kind:, what:, frames: error.get_elements("stack[1]/frame").map { |frame| describe(frame) })
    end
  end

  def describe(frame)
    %w[fn obj file line].filter_map { |field| frame.get_text(field)&.value }.join(" ")
  end

  # What the examples did under valgrind, from RSpec's JSON report.
  def examples(path)
    summary = JSON.parse(File.read(path)).fetch("summary")
    [summary.fetch("example_count"), summary.fetch("failure_count")]
  rescue Errno::ENOENT, JSON::ParserError
    [nil, nil]
  end
end

desc "Run the :gc_stress and :memcheck specs under valgrind; fails on a definite leak or bad access in the extension"
task memcheck: :compile do
  FileUtils.mkdir_p(MEMCHECK_DIR)
  FileUtils.rm_f([*Dir[MEMCHECK_XML.sub("%p", "*")], MEMCHECK_RSPEC_JSON])
  # valgrind 3.19 does not implement pidfd_open (ENOSYS), so under it every run
  # that gets as far as watching its program ends in SpawnError (after the
  # program is killed and reaped) and those examples fail. Spec failures are
  # therefore reported, not fatal: what this task judges is valgrind's report.
  # spec/memcheck_spec.rb (:memcheck) covers what valgrind can still follow.
  sh({ "GAZETTE_MEMCHECK" => "1" }, "valgrind", *VALGRIND_FLAGS, RbConfig.ruby, "-S", "rspec",
     "--tag", "gc_stress", "--tag", "memcheck", "--format", "progress",
     "--format", "json", "--out", MEMCHECK_RSPEC_JSON) { |_ok, _status| nil }
  reports = Dir[MEMCHECK_XML.sub("%p", "*")].select { |report| File.read(report).include?("</valgrindoutput>") }
  abort "memcheck: valgrind wrote no report (#{MEMCHECK_XML})" if reports.empty?

  count, failed = MemcheckReport.examples(MEMCHECK_RSPEC_JSON)
  ours, rubys = reports.flat_map { |report| MemcheckReport.findings(report) }.partition(&:extension?)
  puts "memcheck: #{count || "?"} examples under valgrind, #{failed || "?"} failed (pidfd_open is ENOSYS under " \
       "valgrind 3.19; see #{MEMCHECK_RSPEC_JSON})"
  puts "memcheck: #{reports.size} complete valgrind reports (processes that did not exec)"
  puts "memcheck: #{rubys.size} unsuppressed findings without an extension frame (Ruby's own; not fatal)"
  rubys.first(3).each { |finding| puts finding }
  abort "memcheck: #{ours.size} findings in the extension:\n#{ours.map(&:to_s).join("\n")}" unless ours.empty?

  puts "memcheck: no definite leak and no invalid access with a gazette_runner frame"
end
