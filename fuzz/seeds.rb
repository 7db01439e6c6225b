# frozen_string_literal: true

# Writes the committed seed corpora, fuzz/corpus/<target>/. Rerun after
# changing a seed or the layout of command_description's `Description`:
#   ruby fuzz/seeds.rb
# Seeds give libFuzzer a start at the inputs that matter (real slicer answers,
# known edge cases) instead of waiting for it to stumble on them.

require "fileutils"

CORPUS = File.join(__dir__, "corpus")
BOM = "\xEF\xBB\xBF".b
ANSWER = '{"page_count": 2, "files": ["a.pdf", "b.pdf"]}'

def nested(depth, open: "[", inner: "", close: "]")
  [open * depth, inner, close * depth].join
end

JSON_SEEDS = {
  "answer" => ANSWER,
  "answer_pretty" => "{\n  \"page_count\": 1,\n  \"files\": [\n    \"p1.pdf\"\n  ]\n}\n",
  "answer_no_pages" => '{"page_count": 0, "files": []}',
  "answer_bom" => BOM + ANSWER,
  "bom_only" => BOM,
  "blank" => " \t\r\n",
  "nesting_100" => nested(100),
  "nesting_101" => nested(101),
  "nesting_101_objects" => nested(101, open: '{"a":', inner: "1", close: "}"),
  "nesting_129" => nested(129),
  "trailing_garbage" => "#{ANSWER}\n  x",
  "two_documents" => "#{ANSWER} #{ANSWER}",
  "invalid_utf8_in_string" => "{\"page_count\": 1, \"files\": [\"\xFF\xFE.pdf\"]}".b,
  "overlong_utf8" => "[\"\xC0\xAF\"]".b,
  "truncated_utf8" => "[\"caf\xC3\"]".b,
  "huge_numbers" => '{"page_count": 123456789012345678901234567890, "files": []}',
  "number_edges" => "[1e400, -1e-400, 12345678901234567890.5e-3, -0, 0.0, 1E+2]",
  "fraction_page_count" => '{"page_count": 2.0, "files": ["a.pdf", "b.pdf"]}',
  "surrogate_pair" => '["\ud83d\ude00", "\u00e9\u0000"]',
  "lone_surrogates" => '["\ud800", "\udc00\ud800"]',
  "violations" => '{"page_count": -1, "files": ["", 2, "c.pdf"]}',
  "duplicate_keys" => '{"page_count": 1, "page_count": 2, "files": ["a.pdf", "b.pdf"]}',
  "control_char" => "[\"a\u0001b\"]",
  "comment" => "[1 /* pages */]"
}.freeze

NUMBER_TOKEN = "$serde_json::private::Number"
RAW_TOKEN = "$serde_json::private::RawValue"

# serde_json's private token strings as keys and values (issue 13), next to
# ordinary keys, in the shapes that once passed a schema they break.
DIFFERENTIAL_SEEDS = {
  "number_token_bypass" => %({"amount": 5000, "x": {"#{NUMBER_TOKEN}": "zzz"}}),
  "number_token_as_integer" => %({"#{NUMBER_TOKEN}": "7"}),
  "raw_token_key" => %({"#{RAW_TOKEN}": "[1]", "amount": 1}),
  "escaped_token_key" => %({"\\u0024serde_json::private::Number": "7"}),
  "token_values" => %(["#{NUMBER_TOKEN}", "#{RAW_TOKEN}", {"a": "#{NUMBER_TOKEN}"}]),
  "token_nested" => %({"a": {"#{NUMBER_TOKEN}": {"#{NUMBER_TOKEN}": 1e400}}}),
  "answer" => ANSWER,
  "numbers" => "[123456789012345678901234567890, -0, 1E2, 0.1, 7, 14.0, 1e400]",
  "duplicate_keys" => '{"amount": 1, "amount": 5000}'
}.freeze

# Encodes what command_description's `Description` decodes, the way
# `arbitrary` 1.x reads it: fields in order from the front, byte-slice lengths
# from the back (last byte first), a flag byte before each list element.
# Lengths are one byte only while the input is at most 256 bytes long.
class DescriptionBytes
  def initialize
    @front = "".b
    @back = "".b
  end

  def to_s
    bytes = @front + @back
    raise ArgumentError, "seed of #{bytes.bytesize} bytes needs wider lengths" if bytes.bytesize > 256

    bytes
  end

  def flag(bool)
    @front << (bool ? 1 : 0)
  end

  def slice(str)
    @front << str.b
    @back.prepend(str.bytesize.chr)
  end

  def option(value)
    flag(!value.nil?)
    yield value unless value.nil?
  end

  def list(items)
    items.each do |item|
      flag(true)
      yield item
    end
    flag(false)
  end

  def duration(secs, nanos = 0)
    @front << [secs, nanos].pack("Q<L>")
  end
end

def description(argv:, env: [], cwd: nil, timeout: 5)
  out = DescriptionBytes.new
  out.list(argv) { |arg| out.slice(arg) }
  out.duration(timeout)
  out.list(env) do |name, value|
    out.slice(name)
    out.option(value) { |v| out.slice(v) }
  end
  out.option(cwd) { |dir| out.slice(dir) }
  out.to_s
end

COMMAND_SEEDS = {
  "slicer" => description(argv: ["gazette-slicer", "--out", "/tmp/out", "in.pdf"],
                          env: [["LANG", "C.UTF-8"], ["TMPDIR", nil]], cwd: "/tmp"),
  "empty_argv" => description(argv: []),
  "nul_in_argv" => description(argv: ["echo", "a\0b"]),
  "zero_timeout" => description(argv: ["true"], timeout: 0),
  "bad_env_names" => description(argv: ["env"], env: [["", "x"], ["A=B", "c"], ["N\0", "v"], ["V", "a\0"]]),
  "invalid_utf8" => description(argv: ["\xFF\xFEprog".b, "caf\xC3".b], env: [["\xFF".b, "\xC3".b]],
                                cwd: "/tmp/\xFF".b),
  "nul_in_cwd" => description(argv: ["pwd"], cwd: "/tmp\0/x")
}.freeze

{ "output_validation" => JSON_SEEDS, "command_description" => COMMAND_SEEDS,
  "json_differential" => DIFFERENTIAL_SEEDS }.each do |target, seeds|
  dir = File.join(CORPUS, target)
  FileUtils.rm_rf(dir)
  FileUtils.mkdir_p(dir)
  seeds.each { |name, bytes| File.binwrite(File.join(dir, name), bytes) }
end
