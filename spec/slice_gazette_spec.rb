# frozen_string_literal: true

require "json"
require "tmpdir"

RSpec.describe "GazetteRunner.slice_gazette" do
  around do |example|
    Dir.mktmpdir("slice") do |dir|
      @out = File.realpath(dir)
      example.run
    end
  end

  # A "slicer" that creates the named files and prints the given answer.
  def slicer(answer, create: [])
    script = create.map { |f| "touch '#{File.join(@out, f)}'; " }.join
    sh("#{script}printf '%s' '#{JSON.generate(answer)}'")
  end

  it "returns a frozen SliceResult with absolute paths, relative ones resolved against output_dir", :gc_stress do
    result = GazetteRunner.slice_gazette(slicer({ "page_count" => 2, "files" => ["p1.pdf", "#{@out}/p2.pdf"] },
                                                create: %w[p1.pdf p2.pdf]), output_dir: @out, timeout: 5)
    expect(result).to be_frozen.and(have_attributes(page_count: 2, files: ["#{@out}/p1.pdf", "#{@out}/p2.pdf"]))
    expect(result.to_h).to eq("page_count" => 2, "files" => ["#{@out}/p1.pdf", "#{@out}/p2.pdf"])
  end

  it "refuses files outside output_dir, by path, by .. or by symlink" do
    File.symlink("/etc/passwd", File.join(@out, "link.pdf"))
    answer = { "page_count" => 3, "files" => ["/etc/passwd", "../../secret", "link.pdf"] }
    error = error_from { GazetteRunner.slice_gazette(slicer(answer), output_dir: @out, timeout: 5) }
    expect(error).to be_a(GazetteRunner::SchemaError)
    expect(error.errors.map(&:pointer)).to eq(%w[/files/0 /files/1 /files/2])
  end

  it "refuses missing files and a page count that does not match the files" do
    error = error_from do
      GazetteRunner.slice_gazette(slicer({ "page_count" => 2, "files" => ["gone.pdf"] }), output_dir: @out, timeout: 5)
    end
    expect(error.errors.map(&:pointer)).to contain_exactly("/files", "/files/0")
  end

  it "refuses answers that break the schema" do
    [{ "page_count" => -1, "files" => [] }, { "files" => [] }, { "page_count" => 1, "files" => [1] }].each do |answer|
      error = error_from { GazetteRunner.slice_gazette(slicer(answer), output_dir: @out, timeout: 5) }
      expect(error).to be_a(GazetteRunner::SchemaError), answer.inspect
    end
  end

  it "offers the original job's safe default" do
    expect(GazetteRunner::SliceResult.empty.to_h).to eq("page_count" => 0, "files" => [])
    expect(GazetteRunner::SliceResult.empty).to be_frozen.and(be_empty)
  end
end
