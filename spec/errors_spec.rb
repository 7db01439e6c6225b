# frozen_string_literal: true

RSpec.describe "GazetteRunner errors" do
  it "makes every error a GazetteRunner::Error and the timeout a Timeout::Error too" do
    [GazetteRunner::SpawnError, GazetteRunner::TimeoutError, GazetteRunner::OutputLimitError,
     GazetteRunner::ExitError].each do |klass|
      expect(klass.ancestors).to include(GazetteRunner::Error, StandardError)
    end
    expect(GazetteRunner::TimeoutError.ancestors).to include(Timeout::Error)
  end

  it "raises SpawnError naming the program and the OS reason for a missing program", :gc_stress do
    error = error_from { GazetteRunner.run(["gazette-no-such-program"], timeout: 5) }
    expect(error).to be_a(GazetteRunner::SpawnError)
    expect(error.message).to include("gazette-no-such-program", "No such file")
    expect(error.errno).to eq(Errno::ENOENT::Errno)
    expect(error.program).to eq("gazette-no-such-program")
    expect(error.result).to be_nil
  end

  it "raises SpawnError for a program that is not executable" do
    require "tempfile"
    Tempfile.create("not-executable") do |file|
      File.chmod(0o644, file.path)
      error = error_from { GazetteRunner.run([file.path], timeout: 5) }
      expect(error).to be_a(GazetteRunner::SpawnError)
      expect(error.errno).to eq(Errno::EACCES::Errno)
    end
  end

  it "raises SpawnError for a missing chdir" do
    expect { GazetteRunner.run(["true"], chdir: "/gazette/missing", timeout: 5) }
      .to raise_error(GazetteRunner::SpawnError, /chdir/)
  end

  it "turns descriptor exhaustion into a SpawnError, not a crash" do
    status, out, = run_ruby_child(<<~RUBY)
      require "gazette_runner"
      Process.setrlimit(:NOFILE, 64)
      hog = []
      begin
        loop { hog << File.open(File::NULL) }
      rescue Errno::EMFILE
      end
      begin
        GazetteRunner.run(["true"], timeout: 5)
        puts "ran"
      rescue GazetteRunner::SpawnError => e
        puts "spawn error \#{e.errno}"
      end
    RUBY
    expect(status).to be_success
    expect(out).to eq("spawn error #{Errno::EMFILE::Errno}\n")
  end

  it "raises ExitError from run! with exit code, a stderr tail and the result", :gc_stress do
    error = error_from { GazetteRunner.run!(sh("echo boom >&2; exit 4"), timeout: 5) }
    expect(error).to be_a(GazetteRunner::ExitError)
    expect(error).to have_attributes(exit_code: 4, signal: nil, stderr_tail: "boom\n")
    expect(error.message).to include("exited with 4", "boom")
    expect(error.result.exit_code).to eq(4)
  end

  it "raises ExitError from run! naming the signal that ended the program" do
    error = error_from { GazetteRunner.run!(sh("kill -TERM $$"), timeout: 5) }
    expect(error).to have_attributes(signal: 15, signal_name: "SIGTERM", exit_code: nil)
    expect(error.message).to include("SIGTERM")
    expect(GazetteRunner.run!(["true"], timeout: 5).success?).to be(true)
  end

  it "lets the timeout win over a non-zero exit and carries the partial output" do
    error = error_from { GazetteRunner.run!(sh("echo partial; sleep 5"), timeout: 0.3) }
    expect(error).to be_a(GazetteRunner::TimeoutError)
    expect(error.result).to have_attributes(stdout: "partial\n", timed_out?: true, pid: be_a(Integer))
  end

  it "raises OutputLimitError keeping exactly max_output bytes", :gc_stress do
    error = error_from { GazetteRunner.run(["yes"], max_output: 10_000, timeout: 5) }
    expect(error).to be_a(GazetteRunner::OutputLimitError)
    expect(error.stream).to eq(:stdout)
    expect(error.result.stdout).to eq("y\n" * 5000)
    expect(error_from { GazetteRunner.run(sh("yes >&2"), max_output: 100, timeout: 5) }.stream).to eq(:stderr)
  end

  # A run with no option (one native call) is capped at DEFAULT_MAX_OUTPUT,
  # and a flood ends it there with the same error, whichever stream floods.
  it "stops a flood of a run with no option at the default cap" do
    expect_plain_runs
    cap = GazetteRunner::DEFAULT_MAX_OUTPUT
    { ["yes"] => :stdout, sh("yes >&2") => :stderr }.each do |argv, stream|
      error = error_from { GazetteRunner.run(argv) }
      expect(error).to be_a(GazetteRunner::OutputLimitError)
      expect(error.stream).to eq(stream)
      expect(error.result.public_send(stream).bytesize).to eq(cap)
      expect(error.message).to start_with("#{argv.first} wrote more than #{cap} bytes to #{stream}")
    end
  end

  it "does not count output exactly at the cap as past it" do
    result = GazetteRunner.run(["head", "-c", "100", "/dev/zero"], max_output: 100, timeout: 5)
    expect(result.stdout.bytesize).to eq(100)
  end
end
