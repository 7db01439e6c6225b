# frozen_string_literal: true

require "json"
require "tmpdir"
require_relative "../contenders"
require_relative "../support"

module Bench
  # The documents of row 7, the same bytes on every run: a seeded generator, so
  # that a change in the numbers is a change in the parsers, not in the input.
  module JsonDocuments
    RECORDS = 200_000
    SMALL_COUNT = 10_000
    SEED = 20_240_601
    # One record in BIGNUM_EVERY has a checksum past 64 bits.
    BIGNUM_EVERY = 1000
    TITLES = ["Arrêté du Conseil d'État", "Bekanntmachung über Gebühren", "Décret n° 2024-117",
              "Gazzetta Ufficiale — avviso", "Notice of appointment", "官報 第1234号",
              "Ordonnance \"urgente\"\nsuite", "Errata to the budget act"].freeze
    TAGS = %w[notice decree appointment budget errata].freeze

    module_function

    # About 50 MB: an array of page records, each with a nested object, arrays,
    # strings (some non-ASCII, some with escapes), integers (a few bignums),
    # floats (some in exponent notation), booleans and nulls.
    def big(records = RECORDS)
      random = Random.new(SEED)
      JSON.generate(Array.new(records) { |index| record(index, random) })
    end

    def record(index, random)
      { "id" => index, "gazette" => gazette(index), "page" => (index % 40) + 1, "title" => TITLES.sample(random:),
        "published" => random.rand < 0.9, "confidence" => random.rand.round(4), "bbox" => bbox(random),
        "tags" => TAGS.sample(1 + random.rand(3), random:), "checksum" => checksum(index, random),
        "ocr" => ocr(random), "supersedes" => supersedes(index) }
    end

    def gazette(index) = format("JO-%<year>04d-%<issue>05d", year: 1990 + (index % 35), issue: index / 40)
    def supersedes(index) = (index - 40 if (index % 7).zero? && index >= 40)

    def bbox(random) = [random.rand(100), random.rand(100), 2000 + random.rand(400), 3000 + random.rand(400)]
    def ocr(random) = { "words" => random.rand(900), "mean_score" => (random.rand * 1e-3).round(9) }

    def checksum(index, random)
      (index % BIGNUM_EVERY).zero? ? (1 << 64) + index : random.rand(1 << 32)
    end

    # About 200 bytes each: what a slicer prints for one gazette.
    def small
      random = Random.new(SEED + 1)
      Array.new(SMALL_COUNT) do |index|
        pages = 1 + random.rand(3)
        JSON.generate("source" => "gazettes/#{JsonDocuments.gazette(index)}.pdf", "page_count" => pages,
                      "title" => TITLES.sample(random:), "files" => files(index, pages),
                      "confidence" => random.rand.round(4), "seconds" => random.rand(30.0).round(3), "warnings" => [])
      end
    end

    def files(index, pages)
      Array.new(pages) { |page| format("out/JO-%<index>05d/p%<page>03d.png", index:, page: page + 1) }
    end
  end

  # Row 7: gazette_runner's parse of output bytes into Ruby objects against
  # Ruby's JSON.parse on the same String, and what schema validation adds.
  module JsonParsing
    SCHEMA_PATH = File.expand_path("../page_records.schema.json", __dir__)
    MAX_OUTPUT = 200 << 20
    SPEED_TARGET = 1.0
    SCHEMA_TARGET = 0.5

    # What is parsed: the big document (and its file, for run_json), the schema
    # texts and the small documents.
    Inputs = Struct.new(:text, :path, :schema, :small, keyword_init: true)

    # Each task's code, as shown in the tables, and what it runs.
    TASKS = {
      json_parse: ["JSON.parse(text)", ->(inputs) { JSON.parse(inputs.text) }],
      native: ["Native.parse_json(text, nil, false)", ->(inputs) { native(inputs.text) }],
      native_schema: ["Native.parse_json(text, schema, false)", ->(inputs) { native(inputs.text, inputs.schema) }],
      run_json: ["run_json([\"cat\", file], max_output: 200 << 20)",
                 ->(inputs) { GazetteRunner.run_json(["cat", inputs.path], max_output: MAX_OUTPUT) }],
      # A `|` would end a Markdown table cell, hence no block in the text.
      small_json_parse: ["JSON.parse(doc)", ->(inputs) { inputs.small.each { |doc| JSON.parse(doc) } }],
      small_native: ["Native.parse_json(doc, nil, false)",
                     ->(inputs) { inputs.small.each { |doc| GazetteRunner::Native.parse_json(doc, nil, false) } }]
    }.freeze
    BIG = %i[json_parse native native_schema run_json].freeze
    SMALL = %i[small_json_parse small_native].freeze

    # `samples`: wall seconds of each task per round; `cpu`: CPU seconds of this
    # process (all its threads) in the same runs; `checks`: what the warm-up compared.
    Results = Struct.new(:samples, :cpu, :checks, :facts, keyword_init: true) do
      def median(key) = Bench.median(samples[key])
    end

    module_function

    def native(text, schema = nil)
      tag, document = GazetteRunner::Native.parse_json(text, schema, false)
      raise "Native.parse_json answered #{tag.inspect}" unless tag == :ok

      document
    end

    # @return [Results]
    def measure(rounds:)
      Dir.mktmpdir("gazette-bench-json") do |dir|
        inputs = prepare(dir)
        checks = warm_up(inputs)
        samples, cpu = samples(inputs, rounds)
        Results.new(samples:, cpu:, checks:, facts: facts(inputs))
      end
    end

    # @return [Array(Hash{Symbol=>Array<Float>}, Hash{Symbol=>Array<Float>})] wall
    #   and CPU seconds of each task, one per round
    def samples(inputs, rounds)
      pairs = TASKS.keys.to_h { |key| [key, []] }
      rounds.times do |round|
        Bench.progress("7. round #{round + 1} of #{rounds}")
        TASKS.keys.rotate(round).each { |key| pairs[key] << sample(key, inputs) }
      end
      split(pairs)
    end

    # {key => [[wall, cpu], ...]} into [{key => [wall, ...]}, {key => [cpu, ...]}]
    def split(pairs) = [0, 1].map { |which| pairs.transform_values { |runs| runs.map { |run| run[which] } } }

    def prepare(dir)
      Bench.progress("7. generating #{JsonDocuments::RECORDS} page records and #{JsonDocuments::SMALL_COUNT} " \
                     "small documents")
      text = JsonDocuments.big
      path = File.join(dir, "pages.json")
      File.binwrite(path, text)
      schema = File.read(SCHEMA_PATH)
      Inputs.new(text:, path:, schema:, small: JsonDocuments.small)
    end

    # The equality checks, outside the timed runs (which keep nothing), and a
    # first call with each schema, which compiles it into the core's cache.
    def warm_up(inputs)
      Bench.progress("7. warm-up and equality checks")
      native("[]", inputs.schema)
      checks = { native: same_as_json_parse?(inputs.text) }
      Bench.settle
      checks.merge(small: inputs.small.all? { |doc| native(doc) == JSON.parse(doc) })
    end

    # A method of its own, so that both documents are garbage once it returns.
    def same_as_json_parse?(text) = native(text) == JSON.parse(text)

    # @return [Array(Float, Float)] wall seconds of the call, and CPU seconds
    #   of the whole process until its background work (freeing the validated
    #   tree) is done too
    def sample(key, inputs)
      Bench.settle
      cpu_before = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
      wall = Bench.timed { TASKS[key].last.call(inputs) }
      Bench.await_background
      [wall, Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) - cpu_before]
    end

    def facts(inputs)
      { bytes: inputs.text.bytesize, small_bytes: inputs.small.sum(&:bytesize) }
    end
  end

  # Row 7 in Markdown: its own summary table (its peer is JSON.parse, not the
  # process runners of rows 1-6) and its section.
  module JsonReport
    HEADERS = ["workload (median)", "JSON.parse", "gazette_runner", "gazette_runner ÷ JSON.parse", "target",
               "met"].freeze
    LABELS = {
      json_parse: "JSON.parse (json #{JSON::VERSION}, C extension)",
      native: "gazette_runner: parse + convert",
      native_schema: "gazette_runner: parse + schema + convert",
      run_json: "gazette_runner: run_json end to end",
      small_json_parse: "JSON.parse (json #{JSON::VERSION}, C extension)",
      small_native: "gazette_runner: parse + convert"
    }.freeze
    SUMMARY_NOTE = "Row 7 compares gazette_runner's parse of output into Ruby objects " \
                   "(`GazetteRunner::Native.parse_json`, what `run_json` calls on the captured stdout) with Ruby's " \
                   "`JSON.parse` on the same String; its peer is JSON.parse, so it has a table of its own. 7c is " \
                   "parse_json with the schema minus parse_json without (median of the differences within a " \
                   "round), as a fraction of the latter; \"CPU\" is the same difference in CPU time of all " \
                   "threads (see 7.). 7d includes spawning `cat` and reading its output."

    module_function

    def summary(results)
      rows = [big_row(results), small_row(results), schema_row(results), run_json_row(results)]
      "#{SUMMARY_NOTE} #{JsonNotes.equality(results.checks)}\n\n#{Markdown.table(HEADERS, rows)}"
    end

    def big_row(results)
      ratio = ratio(results, :native, :json_parse)
      ["7a. parse + convert a #{mib(results)} MiB document (ms)", *millis(results, :json_parse, :native),
       Markdown.ratio(ratio), "≤ #{JsonParsing::SPEED_TARGET}× JSON.parse",
       Markdown.verdict(ratio <= JsonParsing::SPEED_TARGET, "#{Markdown.ratio(ratio)} JSON.parse")]
    end

    def small_row(results)
      ["7b. #{JsonDocuments::SMALL_COUNT} documents of ~#{small_size(results)} B, total (ms)",
       *millis(results, :small_json_parse, :small_native),
       Markdown.ratio(ratio(results, :small_native, :small_json_parse)), "-", "-"]
    end

    def schema_row(results)
      added = schema_seconds(results) / results.median(:native)
      cpu = cpu_seconds(results)
      detail = "#{Markdown.ratio(added)} parse; CPU #{Markdown.millis(cpu, 0)} ms, " \
               "#{Markdown.ratio(cpu / Bench.median(results.cpu[:native]))}"
      ["7c. JSON Schema validation of the #{mib(results)} MiB document, added (ms)", "-",
       Markdown.millis(schema_seconds(results), 0), "-", "≤ #{JsonParsing::SCHEMA_TARGET}× parse without schema",
       Markdown.verdict(added <= JsonParsing::SCHEMA_TARGET, detail)]
    end

    def run_json_row(results)
      ["7d. `run_json([\"cat\", file])` of the #{mib(results)} MiB document, end to end (ms)", "-",
       Markdown.millis(results.median(:run_json), 0), "-", "-", "-"]
    end

    def details(results)
      ["## 7. Output validation: JSON output against JSON.parse",
       "#{JsonNotes.note(results)} #{JsonNotes.equality(results.checks)}",
       Markdown.table(["contender", "call", "runs", "median ms", "min ms", "max ms", "MiB/s", "÷ JSON.parse"],
                      JsonParsing::BIG.map { |key| big_detail(results, key) }),
       JsonNotes.schema(results),
       Markdown.table(["contender", "call, once per document", "runs", "median total ms", "µs per document",
                       "÷ JSON.parse"],
                      JsonParsing::SMALL.map { |key| small_detail(results, key) })].join("\n\n")
    end

    def big_detail(results, key)
      seconds = results.samples[key]
      [LABELS[key], Markdown.code(JsonParsing::TASKS[key].first), seconds.size,
       *[Bench.median(seconds), seconds.min, seconds.max].map { |s| Markdown.millis(s, 0) },
       speed(results, key), Markdown.ratio(ratio(results, key, :json_parse))]
    end

    def speed(results, key) = Markdown.number(results.facts[:bytes].to_f / MIB / results.median(key))

    def small_detail(results, key)
      median = results.median(key)
      [LABELS[key], Markdown.code(JsonParsing::TASKS[key].first), results.samples[key].size,
       Markdown.millis(median, 0), Markdown.number(median * 1e6 / JsonDocuments::SMALL_COUNT, 1),
       Markdown.ratio(ratio(results, key, :small_json_parse))]
    end

    def millis(results, *keys) = keys.map { |key| Markdown.millis(results.median(key), 0) }
    def ratio(results, key, base) = results.median(key) / results.median(base)
    def schema_seconds(results) = paired(results, :native_schema, :native)
    def cpu_seconds(results) = paired(results, :native_schema, :native, results.cpu)

    # The median of the differences within a round, which drift between rounds does not reach.
    def paired(results, key, base, samples = results.samples)
      Bench.median(samples[key].zip(samples[base]).map { |a, b| a - b })
    end

    def mib(results) = Markdown.mib(results.facts[:bytes])
    def small_size(results) = results.facts[:small_bytes] / JsonDocuments::SMALL_COUNT
  end

  # The prose of row 7's section.
  module JsonNotes
    module_function

    def note(results)
      "The big document: #{JsonDocuments::RECORDS} page records in one array, #{results.facts[:bytes]} bytes " \
        "(#{JsonReport.mib(results)} MiB) of `JSON.generate` output from a seeded generator: per record a " \
        "nested object, two arrays, strings (titles partly non-ASCII, some with `\\\"` and `\\n` escapes), " \
        "integers (one record in #{JsonDocuments::BIGNUM_EVERY} has a checksum past 2⁶⁴, a Bignum), floats " \
        "(some in exponent notation), booleans and nulls. Its schema is `bench/page_records.schema.json` (types, " \
        "required keys, minimum/maximum, array items and lengths; compiled and cached by a warm-up call). The " \
        "small documents are #{JsonDocuments::SMALL_COUNT} slicer answers of #{JsonReport.small_size(results)} " \
        "bytes on average. Rounds rotate the order; GC.start and malloc_trim before each sample, GC enabled " \
        "during it (both sides allocate the same Ruby objects). run_json spawns `cat` on a temp file of the " \
        "document, reads it through a pipe, then parses it as the second row does."
    end

    def equality(checks)
      word = ->(equal) { equal ? "equal" : "**NOT equal**" }
      "Results compared with `==` to JSON.parse's, once, before the timed rounds: the big document " \
        "#{word[checks[:native]]}, all #{JsonDocuments::SMALL_COUNT} small documents #{word[checks[:small]]}."
    end

    def schema(results)
      added = JsonReport.schema_seconds(results)
      cpu = JsonReport.cpu_seconds(results)
      native = results.median(:native)
      "Schema validation adds #{Markdown.millis(added, 0)} ms of wall time to parse + convert (the median over " \
        "the rounds of the third row's run less the second's), #{Markdown.ratio(added / native)} the second " \
        "row's median (target ≤ #{JsonParsing::SCHEMA_TARGET}×). From 256 KiB on, a second thread parses the " \
        "bytes into a `serde_json::Value` and validates it while the calling thread builds the Ruby objects " \
        "straight from the bytes, and a detached thread frees the Value afterwards, so the wall time added is " \
        "what validation takes beyond building, when a core is free; the CPU time it adds (all threads of the " \
        "process until the Value is freed, same pairing) is " \
        "#{Markdown.millis(cpu, 0)} ms, #{Markdown.ratio(cpu / Bench.median(results.cpu[:native]))} the second " \
        "row's CPU time. On a busy machine the wall time added tends to the CPU time. The " \
        "#{JsonDocuments::SMALL_COUNT} small documents, each parsed by its own call:"
    end
  end
end
