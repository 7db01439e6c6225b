# frozen_string_literal: true

# The slice contract over generated output directories (files, directories,
# FIFOs, symlinks in and out, loops, hard links) and generated answers (paths,
# `..`, `~`, NULs, duplicates, non-Strings, Floats): the only outcomes are a
# SliceResult of distinct regular files inside the directory, page_count
# equal to their number, or a SchemaError. `rake fuzz:ruby` runs it longer
# (GAZETTE_PROPERTY_RUNS); the seed is RSpec's.
RSpec.describe "slice contract property", :scratch_dir do
  let(:runs) { Integer(ENV.fetch("GAZETTE_PROPERTY_RUNS", "400")) }
  # Answers checked against each generated directory (making one costs a few ms per entry).
  let(:answers_per_tree) { 20 }
  let(:random) { Random.new(RSpec.configuration.seed) }
  # One real run, for the errors to name.
  let(:result) { GazetteRunner.run(["true"], timeout: 5) }

  def pick(list) = list[random.rand(list.size)]

  # A fresh output directory with a few entries of every kind; returns [root, names].
  def tree(index)
    root = File.join(@dir, "out#{index}")
    Dir.mkdir(root)
    Dir.mkdir(File.join(root, "sub"))
    names = %w[a.pdf b.pdf sub/c.pdf].each { |name| File.write(File.join(root, name), "%PDF") }
    makers = {
      "dir" => -> { Dir.mkdir(File.join(root, "dir")) },
      "fifo" => -> { File.mkfifo(File.join(root, "fifo")) },
      "in.lnk" => -> { File.symlink("a.pdf", File.join(root, "in.lnk")) },
      "out.lnk" => -> { File.symlink("/etc/hostname", File.join(root, "out.lnk")) },
      "dangling.lnk" => -> { File.symlink("nowhere", File.join(root, "dangling.lnk")) },
      "loop.lnk" => -> { File.symlink("loop.lnk", File.join(root, "loop.lnk")) },
      "hard.pdf" => -> { File.link(File.join(root, "b.pdf"), File.join(root, "hard.pdf")) },
      "updir.lnk" => -> { File.symlink("..", File.join(root, "updir.lnk")) }
    }
    made = makers.select { random.rand(2).zero? }.each_value(&:call).keys
    [File.realpath(root), names + made]
  end

  def entry(root, names)
    name = pick(names)
    case random.rand(12)
    when 0..3 then name
    when 4 then "./#{name}"
    when 5 then "#{root}/#{name}"
    when 6 then "sub/../#{name}"
    when 7 then pick(["../#{File.basename(root)}/#{name}", "~/#{name}", "~root", "#{name}\0", "", "/", "."])
    when 8 then pick([1, 2.5, nil, true, [name], { "f" => name }])
    when 9 then "updir.lnk/#{File.basename(root)}/#{name}"
    when 10 then "#{"d/" * random.rand(3)}#{"x" * random.rand(300)}"
    else "#{name}/"
    end
  end

  def answer(root, names)
    files = Array.new(random.rand(6)) { entry(root, names) }
    page_count = pick([files.size, files.size, files.size.to_f, files.size + 1, -1, "2", nil])
    { "page_count" => page_count, "files" => random.rand(20).zero? ? files.first : files }
  end

  def distinct_regular_files_inside?(slice, root)
    stats = slice.files.map { |path| File.lstat(path) }
    stats.all?(&:file?) && slice.files.all? { |path| path.start_with?("#{root}/") && File.realpath(path) == path } &&
      stats.map { |stat| [stat.dev, stat.ino] }.uniq.size == stats.size
  end

  it "answers only with distinct regular files inside output_dir or a SchemaError" do
    outcomes = Hash.new(0)
    (runs / answers_per_tree).clamp(1..).times do |i|
      root, names = tree(i)
      answers_per_tree.times { outcomes[verdict(answer(root, names), root)] += 1 }
    end
    expect(outcomes.keys).to contain_exactly(:ok, :schema_error) # both kinds were generated
  end

  def verdict(document, root)
    slice = GazetteRunner::SliceContract.check(document, root, result)
    expect(slice.page_count).to be_a(Integer).and(eq(slice.files.size))
    expect(distinct_regular_files_inside?(slice, root)).to be(true), document.inspect
    :ok
  rescue GazetteRunner::SchemaError => e
    expect(e.errors).not_to be_empty
    :schema_error
  end
end
