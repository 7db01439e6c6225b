# frozen_string_literal: true

require "json"

# A slicer is a child that parses untrusted PDFs: whatever it answers, the job
# gets distinct regular files inside output_dir, or a SchemaError that names
# the entry (so events say :schema_error and breakers count it).
RSpec.describe "hostile slicer answers", :scratch_dir do
  before { @out = File.realpath(@dir) }

  # A real child that prints exactly `text` on stdout (from a file: no quoting games).
  def slicer(text)
    answer = File.join(@dir, ".answer-#{rand(1 << 30)}")
    File.binwrite(answer, text)
    ["cat", answer]
  end

  def slice(text, **options) = GazetteRunner.slice_gazette(slicer(text), output_dir: @out, timeout: 5, **options)

  def refusal(answer)
    text = answer.is_a?(String) ? answer : JSON.generate(answer)
    error = error_from { slice(text) }
    expect(error).to be_a(GazetteRunner::SchemaError), "#{answer.inspect[0, 200]} gave #{error.inspect}"
    error
  end

  def touch(*names) = names.each { |name| File.write(File.join(@out, name), "%PDF") }

  it "accepts distinct regular files inside output_dir" do
    touch("a.pdf", "b.pdf")
    expect(slice(JSON.generate("page_count" => 2, "files" => ["a.pdf", "#{@out}/b.pdf"])).files)
      .to eq(["#{@out}/a.pdf", "#{@out}/b.pdf"])
  end

  it "refuses a directory" do
    Dir.mkdir(File.join(@out, "pages"))
    error = refusal("page_count" => 1, "files" => ["pages"])
    expect(error.message).to include('"pages" is a directory, not a regular file')
  end

  it "refuses a FIFO at once, without opening it (a later read would block outside any bound)" do
    File.mkfifo(File.join(@out, "p1.pdf"))
    took = elapsed { expect(refusal("page_count" => 1, "files" => ["p1.pdf"]).message).to include("is a fifo") }
    expect(took).to be < time_bound(2)
  end

  it "refuses the same file twice: a.pdf and ./a.pdf, a symlink to it, a hard link to it" do
    touch("a.pdf")
    File.symlink("a.pdf", File.join(@out, "link.pdf"))
    File.link(File.join(@out, "a.pdf"), File.join(@out, "hard.pdf"))
    error = refusal("page_count" => 4, "files" => ["a.pdf", "./a.pdf", "link.pdf", "hard.pdf"])
    expect(error.errors.map(&:pointer)).to eq(%w[/files/1 /files/2 /files/3])
    expect(error.errors.map(&:message)).to all(include("is the same file as /files/0"))
  end

  it "refuses page_count 1.0 (an Integer is asked for) and a count that does not match the files" do
    touch("a.pdf")
    expect(refusal('{"page_count": 1.0, "files": ["a.pdf"]}').message).to include("/page_count")
    expect(refusal("page_count" => 2, "files" => ["a.pdf"]).message).to include("has 1 entries for page_count 2")
  end

  it "takes ~user/x literally, never as a home directory: a missing file, a SchemaError" do
    error = refusal("page_count" => 2, "files" => ["~root/.profile", "~/x.pdf"])
    expect(error.errors.map(&:message)).to all(include("cannot be resolved"))
    Dir.mkdir(File.join(@out, "~root")) && File.write(File.join(@out, "~root/p.pdf"), "")
    expect(slice(JSON.generate("page_count" => 1, "files" => ["~root/p.pdf"])).files).to eq(["#{@out}/~root/p.pdf"])
  end

  it "refuses a NUL in a name with a SchemaError whose message shows it escaped" do
    touch("a.pdf")
    error = refusal('{"page_count": 1, "files": ["a.pdf\u0000../../etc/passwd"]}')
    expect(error.message).to include('"a.pdf\\u0000../../etc/passwd" contains a NUL byte')
  end

  it "refuses non-String entries, as the schema does and as the contract does on its own" do
    touch("a.pdf")
    [1, nil, ["a.pdf"], { "path" => "a.pdf" }, true].each do |entry|
      refusal("page_count" => 1, "files" => [entry])
      check = GazetteRunner::SliceContract::Check.new(@out)
      expect(check.call("page_count" => 1, "files" => [entry])).to be_nil
      expect(check.problems.violations.map(&:to_s)).to match([%r{\A/files/0: is .*, not a file name\z}]), entry.inspect
    end
  end

  it "refuses paths that leave output_dir by .., by an absolute path or by a symlinked directory" do
    File.symlink("/etc", File.join(@out, "etc"))
    error = refusal("page_count" => 3, "files" => ["../#{File.basename(@out)}/../x", "/etc/hostname", "etc/hostname"])
    expect(error.errors.map(&:pointer)).to eq(%w[/files/0 /files/1 /files/2])
  end

  it "caps and escapes the entry it names: a 100 KB name makes a message of a few hundred bytes" do
    name = "\e[31m#{"x" * 100_000}"
    error = refusal("page_count" => 1, "files" => [name])
    expect(error.message.bytesize).to be < 1024
    expect(error.message).to include('"\\e[31mxxx').and(include("bytes cut"))
    expect(error.message).not_to include("\e")
  end

  it "lists at most Caps::VIOLATIONS violations for 20,000 missing files, and counts the rest" do
    files = Array.new(20_000) { |i| "missing-#{i}.pdf" }
    error = nil
    took = elapsed { error = refusal("page_count" => files.size, "files" => files) }
    expect(error.errors.size).to eq(GazetteRunner::Caps::VIOLATIONS + 1)
    rest = files.size - GazetteRunner::Caps::VIOLATIONS
    expect(error.errors.last.message).to eq("and #{rest} more problems, not listed")
    expect(took).to be < time_bound(5)
  end

  it "reports a broken contract as :schema_error, and the breaker counts it" do
    Dir.mkdir(File.join(@out, "d"))
    breaker = GazetteRunner::CircuitBreaker.new("hostile-slicer-#{rand(1 << 30)}", threshold: 2, cool_off: 60)
    events = events_of do
      2.times { error_from { slice(JSON.generate("page_count" => 1, "files" => ["d"]), breaker:) } }
    end
    expect(events.map(&:outcome)).to eq(%i[schema_error schema_error])
    expect(breaker).to be_open
  ensure
    breaker&.reset
  end

  describe "SliceResult#each_file" do
    it "yields each file open for reading, and closes it" do
      touch("a.pdf", "b.pdf")
      result = slice(JSON.generate("page_count" => 2, "files" => %w[a.pdf b.pdf]))
      opened = []
      result.each_file { |file| opened << [file.path, file.read] }
      expect(opened).to eq([["#{@out}/a.pdf", "%PDF"], ["#{@out}/b.pdf", "%PDF"]])
      expect(result.each_file.to_a).to all(be_closed)
    end

    it "refuses a file replaced after the check: by another file, a symlink or a FIFO" do
      touch("a.pdf")
      result = slice(JSON.generate("page_count" => 1, "files" => ["a.pdf"]))
      path = "#{@out}/a.pdf"
      File.rename(path, "#{path}.old") && touch("a.pdf")
      expect { result.each_file { nil } }.to raise_error(GazetteRunner::ChangedFileError, /another file took its place/)
      File.unlink(path) && File.symlink("#{path}.old", path)
      expect { result.each_file { nil } }.to raise_error(GazetteRunner::ChangedFileError, /#{Regexp.escape(path)}/)
      File.unlink(path) && File.mkfifo(path)
      took = elapsed { expect { result.each_file { nil } }.to raise_error(GazetteRunner::ChangedFileError, /fifo/) }
      expect(took).to be < time_bound(2)
    end
  end
end
