# frozen_string_literal: true

# Runs examples/demo/slice_gazette.py through GazetteRunner: once normally,
# once hanging (the incident), once printing nothing.
require "gazette_runner"
require "json"
require "tmpdir"

SLICER = File.expand_path("slice_gazette.py", __dir__)

def live_group_members(pgid)
  Dir.children("/proc").grep(/\A\d+\z/).select do |pid|
    stat = File.read("/proc/#{pid}/stat")
    fields = stat[(stat.rindex(")") + 2)..].split
    fields[2].to_i == pgid && fields[0] != "Z"
  rescue Errno::ENOENT
    false
  end
end

def show(title)
  puts "\n--- #{title}"
  yield
rescue GazetteRunner::Error => e
  puts "#{e.class}: #{e.message}"
  if e.result
    left = live_group_members(e.result.pid)
    puts "after #{format("%.2f", e.result.duration)} s; processes of its group still running: #{left.size}"
  end
end

Dir.mktmpdir("gazette-demo") do |out|
  show("normal run") do
    result = GazetteRunner.run!(["python3", SLICER, "--pages", "3", "--out", out], timeout: 30)
    parsed = JSON.parse(result.stdout)
    puts "#{parsed["page_count"]} pages in #{format("%.3f", result.duration)} s: " \
         "#{parsed["files"].map { |f| File.basename(f) }.join(", ")}"
  end

  show("hanging script (timeout 2 s, kill_after 1 s)") do
    GazetteRunner.run!(["python3", SLICER, "--hang"], timeout: 2, kill_after: 1)
  end

  show("script that prints nothing") do
    result = GazetteRunner.run!(["python3", SLICER, "--empty"], timeout: 30)
    if result.stdout.strip.empty?
      puts "exit #{result.exit_code}, stdout empty: the job gets a typed answer instead of JSON::ParserError"
    end
  end
end
