# frozen_string_literal: true

module GazetteRunner
  # The program ran and succeeded, but what it printed is not what was asked
  # for. Raised by {GazetteRunner.run_json} and {GazetteRunner.slice_gazette}.
  class OutputError < StandardError
    include Error

    # @param message [String]
    # @param result [GazetteRunner::Result]
    def initialize(message, result)
      @result = result
      super(message)
    end
  end

  # Standard output was empty or only whitespace.
  class EmptyOutputError < OutputError
    # @param result [GazetteRunner::Result]
    def initialize(result)
      super("#{Redaction.program(result.argv)} printed nothing on stdout (#{Result.tail_note(result.stderr)})", result)
    end
  end

  # Standard output is not exactly one JSON document.
  class InvalidJsonError < OutputError
    # How many bytes of the raw output {#raw} shows ({Caps::RAW_JSON}).
    RAW_BYTES = Caps::RAW_JSON

    # @return [Integer] 1-based line of the error
    attr_reader :line
    # @return [Integer] 1-based column (in bytes) of the error
    attr_reader :column

    # @param result [GazetteRunner::Result]
    # @param reason [String] what the parser found wrong
    # @param line [Integer]
    # @param column [Integer]
    # @param excerpt [String] the output around the error
    def initialize(result, reason, line, column, excerpt)
      @line = line
      @column = column
      super("#{Redaction.program(result.argv)} printed invalid JSON: #{reason} at line #{line}, column #{column}, " \
            "near #{excerpt.inspect}", result)
    end

    # @return [String] the raw output, at most {RAW_BYTES} bytes of it
    def raw = result.stdout.byteslice(0, RAW_BYTES)
  end

  # The document does not satisfy the schema (or, for {GazetteRunner.slice_gazette},
  # the slicer's contract).
  #
  # Its cost is bounded whatever the program printed: the core keeps the first
  # 100 violations it finds and only counts the rest ({#violation_count}), and
  # each violation's pointer and message are capped at 512 bytes, quoting at
  # most 80 bytes of the offending value. A document so large that listing
  # every violation would take more than 32 MiB gets its first violation only,
  # and no count. The caps are constants of the core's src/schema.rs
  # (`MAX_VIOLATIONS`, `MAX_VIOLATION_TEXT_BYTES`, `VALUE_EXCERPT_BYTES`,
  # `LISTING_BUDGET_BYTES`); docs/json-output.md explains them.
  class SchemaError < OutputError
    # How many violations the message shows.
    SHOWN = 5

    # One way the document fails: a JSON pointer into it and a message.
    Violation = Struct.new(:pointer, :message, keyword_init: true) do
      # @return [String]
      def to_s = "#{pointer.empty? ? "(root)" : pointer}: #{message}"
    end

    # @return [Array<Violation>] the first violations found (all of them
    #   unless there were more than the core keeps)
    attr_reader :errors
    # @return [Integer, nil] how many violations there were in all, kept or
    #   not; nil when there were too many to count (more than {#errors})
    attr_reader :violation_count

    # @param result [GazetteRunner::Result]
    # @param errors [Array<Violation>]
    # @param violation_count [Integer, nil] all violations, when {#errors} holds only the first
    def initialize(result, errors, violation_count: errors.size)
      @errors = errors.map(&:freeze).freeze
      @violation_count = violation_count
      shown = @errors.first(SHOWN).map(&:to_s).join("; ")
      super("#{Redaction.program(result.argv)} printed JSON that fails its schema: #{shown}#{more_note}", result)
    end

    private

    def more_note
      return " (and more: too many to count)" if violation_count.nil?

      more = violation_count - [errors.size, SHOWN].min
      more.positive? ? " (and #{more} more)" : ""
    end
  end

  # A file of a {SliceResult} is gone, is no longer a regular file, or is no
  # longer the file the slicer's answer was checked against (raised by
  # {SliceResult#each_file}). {#result} is nil: the run ended long before.
  class ChangedFileError < OutputError
    # @return [String] the file's path
    attr_reader :path

    # @param path [String]
    # @param reason [String]
    def initialize(path, reason)
      @path = path
      super("#{path.inspect} changed after the slicer's answer was checked: #{reason}", nil)
    end
  end
end
