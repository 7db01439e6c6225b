# frozen_string_literal: true

RSpec.describe "running beside other Ruby threads" do
  it "releases the GVL: 25 threads sleeping 0.5 s each finish together" do
    took = elapsed do
      threads = Array.new(25) { Thread.new { GazetteRunner.run(["sleep", "0.5"], timeout: 10) } }
      expect(threads.map { |t| t.join(15)&.value&.success? }).to all(be(true))
    end
    expect(took).to be < 25 * 0.5 / 2
  end

  it "keeps other threads' output apart", :gc_stress do
    threads = Array.new(16) do |i|
      Thread.new do
        GazetteRunner.run(sh("for n in 1 2 3 4 5; do echo #{i}-$n; done; echo err#{i} >&2"), timeout: time_bound(10))
      end
    end
    threads.each_with_index do |thread, i|
      result = thread.join(time_bound(15)).value
      expect(result.stdout).to eq((1..5).map { |n| "#{i}-#{n}\n" }.join)
      expect(result.stderr).to eq("err#{i}\n")
    end
  end

  it "installs no signal handler, so the host's trap(\"CHLD\") and Process.wait keep working" do
    status, out, err = run_ruby_child(<<~RUBY)
      require "gazette_runner"
      before = trap("CHLD", "DEFAULT")
      GazetteRunner.run(["true"], timeout: 5)
      puts trap("CHLD", before).inspect
      got = Queue.new
      trap("CHLD") { got << :chld }
      pid = Process.spawn("true")
      Process.wait(pid)
      puts $?.success?
      puts GazetteRunner.run(["echo", "still"], timeout: 5).stdout
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
      sleep 0.01 while got.empty? && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      puts got.empty? ? "no CHLD trap ran" : got.pop
    RUBY
    expect(err).to eq("")
    expect(status).to be_success
    expect(out.lines.map(&:chomp)).to eq(['"DEFAULT"', "true", "still", "chld"])
  end

  # Which of the two reaps first is a race; what must hold either way is a
  # prompt return with all the output, and a status that is exact or unknown, never wrong.
  it "returns promptly with the output when the host reaps the program itself" do
    status, out, err = run_ruby_child(<<~RUBY)
      require "gazette_runner"
      20.times do
        host = Thread.new { Process.wait2(-1) rescue nil }
        t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        r = GazetteRunner.run(["sh", "-c", "echo out; exit 3"], timeout: 10)
        reaped_by_host = host.join(5).value
        took = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t
        ok = r.stdout == "out\n" && took < 5 &&
             (r.status_known? ? r.exit_code == 3 && reaped_by_host.nil? : reaped_by_host[1].exitstatus == 3)
        puts ok ? (r.status_known? ? "ours" : "host") : "wrong: \#{r.inspect} \#{reaped_by_host.inspect}"
      end
    RUBY
    expect(err).to eq("")
    expect(status).to be_success
    expect(out.lines.map(&:chomp)).to all(eq("ours").or(eq("host")))
    expect(out.lines.size).to eq(20)
  end

  it "works in a forked child of the host" do
    GazetteRunner.run(["true"], timeout: 5)
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      writer.write(GazetteRunner.run(%w[echo forked], timeout: 5).stdout)
      writer.close
      exit!(0)
    end
    writer.close
    expect(bounded_wait(pid, 10)).to be_success
    expect(reader.read).to eq("forked\n")
  ensure
    reader&.close
  end
end
