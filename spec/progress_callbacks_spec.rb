# frozen_string_literal: true

require "tmpdir"

RSpec.describe "progress and live output", :scratch_dir do
  # Raised by a callback in these specs.
  class CallbackFailure < StandardError; end # rubocop:disable Lint/ConstantDefinitionInBlock

  it "hands on_stdout and on_stderr every line, in order, the last one without its newline" do
    out = []
    err = []
    result = GazetteRunner.run(sh("seq 1 20000; seq 1 500 >&2; printf unterminated"),
                               on_stdout: ->(line) { out << line }, on_stderr: ->(line) { err << line }, timeout: 20)
    expect(out.size).to eq(20_001)
    expect(out.first(3)).to eq(%W[1\n 2\n 3\n])
    expect(out.last).to eq("unterminated")
    expect(out.join).to eq(result.stdout)
    expect(err).to eq((1..500).map { |n| "#{n}\n" })
  end

  # Few lines: under GC.stress every line costs several collections.
  it "keeps each line alive while the callback holds it", :gc_stress do
    out = []
    GazetteRunner.run(sh("seq 1 6; seq 7 10 >&2"), on_stdout: ->(line) { out << line },
                                                   on_stderr: ->(line) { out << line }, timeout: 20)
    expect(out.sort_by(&:to_i)).to eq((1..10).map { |n| "#{n}\n" })
  end

  it "delivers lines while the program runs, not when it ends" do
    go = File.join(@dir, "go")
    # The program waits for the file the callback creates on seeing its first line.
    took = elapsed do
      result = GazetteRunner.run(sh("echo ready; while [ ! -e #{go} ]; do sleep 0.01; done; echo done"),
                                 on_stdout: ->(line) { File.write(go, "") if line == "ready\n" }, timeout: 20)
      expect(result.stdout).to eq("ready\ndone\n")
    end
    expect(took).to be < 10
  end

  it "calls back on the calling thread, with lines in Encoding.default_external that it may keep and change" do
    seen = []
    GazetteRunner.run(sh("echo hi; echo there"), on_stdout: ->(line) { seen << [Thread.current, line] }, timeout: 5)
    expect(seen.map(&:first)).to all(equal(Thread.current))
    lines = seen.map(&:last)
    expect(lines.map(&:encoding)).to all(eq(Encoding.default_external))
    lines.first << "changed" # lines share a read's buffer; changing one copies it, and no other line sees that
    expect(lines).to eq(%W[hi\nchanged there\n])
  end

  it "splits at every newline, whatever the bytes around it" do
    seen = []
    GazetteRunner.run(["printf", "\\377a\\r\\nb\\n\\200"], on_stdout: ->(line) { seen << line.b }, timeout: 5)
    expect(seen).to eq(["\xFFa\r\n".b, "b\n".b, "\x80".b])
  end

  it "delivers lines under an ASCII-incompatible Encoding.default_external too" do
    seen = []
    previous = Encoding.default_external
    begin
      Encoding.default_external = Encoding::UTF_16LE
      GazetteRunner.run(sh("printf 'a\\nb\\n'"), on_stdout: ->(line) { seen << line }, timeout: 5)
    ensure
      Encoding.default_external = previous
    end
    expect(seen.map(&:encoding)).to all(eq(Encoding::UTF_16LE))
    expect(seen.map(&:b)).to eq(["a\n".b, "b\n".b])
  end

  describe "the progress protocol" do
    let(:script) do
      <<~SH
        echo 'PROGRESS 10' >&2
        echo 'PROGRESS abc' >&2
        echo ' PROGRESS 15 leading space' >&2
        echo 'PROGRESS 1000 four digits' >&2
        echo 'working' >&2
        echo 'PROGRESS 55 page 11 of 20' >&2
        echo 'PROGRESS 100 done' >&2
      SH
    end

    it "hands on_progress each PROGRESS line as a Progress, and keeps them in stderr and on_stderr", :gc_stress do
      progress = []
      stderr = []
      result = GazetteRunner.run(sh(script), on_progress: ->(p) { progress << p }, on_stderr: ->(l) { stderr << l },
                                             timeout: 5)
      expect(progress.map(&:to_h)).to eq([{ percent: 10, message: nil }, { percent: 55, message: "page 11 of 20" },
                                          { percent: 100, message: "done" }])
      expect(progress).to all(be_frozen)
      expect(stderr.join).to eq(result.stderr)
      expect(result.stderr).to include("PROGRESS 55 page 11 of 20\n")
      expect(result.progress).to eq(GazetteRunner::Progress.new(percent: 100, message: "done"))
    end

    it "parses progress even with no on_progress: the latest is in the Result and the event" do
      events = []
      subscription = GazetteRunner.subscribe { |event| events << event }
      result = GazetteRunner.run(sh(script), timeout: 5)
      expect(result.progress.to_s).to eq("100% done")
      expect(events.last.progress).to eq(result.progress)
    ensure
      subscription&.unsubscribe
    end

    it "has no progress when the program reports none" do
      expect(GazetteRunner.run(%w[true], timeout: 5).progress).to be_nil
    end

    it "matches the documented pattern" do
      expect(GazetteRunner::Progress::PATTERN).to match("PROGRESS 7 x y").and(match("PROGRESS 100"))
      expect(GazetteRunner::Progress::PATTERN).not_to match("PROGRESS 1000")
    end
  end

  describe "a callback that raises" do
    it "stops the program and its group cleanly, and the exception propagates" do
      pidfile = File.join(@dir, "pid")
      error = nil
      took = elapsed do
        GazetteRunner.run(sh("echo $$ > #{pidfile}; echo first; exec sleep 60"),
                          on_stdout: ->(_) { raise CallbackFailure, "stop" }, timeout: 30)
      rescue CallbackFailure => e
        error = e
      end
      expect(error.message).to eq("stop")
      expect(took).to be < 10
      pid = Integer(File.read(pidfile))
      expect(alive?(pid)).to be(false)
      expect(live_group_members(pid)).to be_empty
      expect(own_zombies).to be_empty
    end

    it "is reported as :callback_error, whichever callback raised" do
      outcomes = []
      subscription = GazetteRunner.subscribe { |event| outcomes << event.outcome }
      [{ on_stdout: ->(_) { raise CallbackFailure } }, { on_stderr: ->(_) { raise CallbackFailure } },
       { on_progress: ->(_) { raise CallbackFailure } }].each do |callbacks|
        expect do
          GazetteRunner.run(sh("echo out; echo 'PROGRESS 5' >&2; exec sleep 30"), timeout: 30, **callbacks)
        end.to raise_error(CallbackFailure)
      end
      expect(outcomes).to eq(%i[callback_error callback_error callback_error])
    ensure
      subscription&.unsubscribe
    end
  end

  it "refuses a callback that cannot be called" do
    expect { GazetteRunner.run(%w[true], on_stdout: "puts") }.to raise_error(ArgumentError, /on_stdout/)
  end
end
