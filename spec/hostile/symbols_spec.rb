# frozen_string_literal: true

require "json"

# A child controls only its output: `symbolize_names: true` must not let it
# fill the symbol table for the life of the process. Like JSON.parse, run_json
# makes dynamic Symbols, which the GC frees once unused (issue 13).
RSpec.describe "Hostile output: immortal Symbols" do
  def symbols_after_gc
    4.times { GC.start(full_mark: true, immediate_sweep: true) }
    Symbol.all_symbols.size
  end

  # A method of its own, so that the document is garbage once it returns.
  def parse_distinct_keys(count, prefix)
    argv = ["python3", "-c", "import sys, json; " \
                             "sys.stdout.write(json.dumps({'#{prefix}%d' % i: i for i in range(#{count})}))"]
    document = GazetteRunner.run_json(argv, symbolize_names: true, timeout: time_bound(20))
    [document.size, document.keys.first.class, document.key?(:"#{prefix}0")]
  end

  # Three documents of 50,000 new names each: immortal Symbols would leave
  # 150,000. A conservative GC may keep one document alive through a stale
  # stack slot (seen for the first call in a process, which starts threads),
  # so the bound allows one document's worth, not three.
  it "leaves no Symbols behind for 3 x 50,000 distinct keys" do
    parse_distinct_keys(10, "warm_up_")
    before = symbols_after_gc
    3.times do |round|
      expect(parse_distinct_keys(50_000, "hostile_#{round}_#{rand(1 << 40)}_")).to eq([50_000, Symbol, true])
    end
    expect(symbols_after_gc - before).to be < 60_000
  end

  it "reuses Symbols that already exist, static or dynamic", :gc_stress do
    dynamic = "dyn_#{rand(1 << 40)}".to_sym
    text = %({"object_id": 1, "#{dynamic}": 2, "é": 3})
    document = GazetteRunner.run_json(["printf", "%s", text], symbolize_names: true, timeout: time_bound(5))
    expect(document).to eq(JSON.parse(text, symbolize_names: true))
    expect(document.keys.map(&:object_id)).to eq([:object_id, dynamic, :é].map(&:object_id))
  end
end
