# frozen_string_literal: true

module GazetteRunner
  # The gazette slicer's output contract: `{"page_count": n, "files": [...]}`
  # where `page_count` is an Integer (`1.0` is refused) equal to the number of
  # files, and every file is an existing **regular file** inside the output
  # directory once symlinks and `..` are resolved, named once: `a.pdf`,
  # `./a.pdf`, a symlink to it or a hard link to it are the same file. A
  # slicer that answers "/etc/passwd", a directory, a FIFO (which would block
  # the job's later read outside any bound), `~user/x` (taken literally, never
  # as a home directory), a name with a NUL or a number gets a {SchemaError}
  # naming the entry — never an ArgumentError or a TypeError.
  #
  # The check is made once, when the slicer has exited: a process that can
  # still write to the output directory could replace a file afterwards.
  # {SliceResult#each_file} opens each file without following a final
  # symlink and refuses one that is no longer the file that was checked.
  # @api private
  module SliceContract
    # The JSON Schema every slicer answer must satisfy before the file checks.
    SCHEMA = {
      "$schema" => "https://json-schema.org/draft/2020-12/schema",
      "type" => "object",
      "required" => %w[page_count files],
      "properties" => {
        "page_count" => { "type" => "integer", "minimum" => 0 },
        "files" => { "type" => "array", "items" => { "type" => "string", "minLength" => 1 } }
      }
    }.freeze

    # Collects violations: the first {Caps::VIOLATIONS}, then only their number.
    class Problems
      # @return [Array<SchemaError::Violation>]
      attr_reader :listed
      # @return [Integer] every violation found, listed or not
      attr_reader :count

      def initialize
        @listed = []
        @count = 0
      end

      # @param pointer [String]
      # @param message [String]
      # @return [nil]
      def add(pointer, message)
        @count += 1
        @listed << JsonOutput.violation(pointer, message) if @listed.size < Caps::VIOLATIONS
        nil
      end

      # @return [Boolean] true once no more will be listed (checks can stop)
      def full? = @count >= Caps::VIOLATIONS

      # @return [Boolean]
      def none? = @count.zero?

      # @return [Array<SchemaError::Violation>] the listed ones, and one that counts the rest
      def violations
        rest = @count - @listed.size
        rest.zero? ? @listed : [*@listed, JsonOutput.violation("/files", "and #{rest} more problems, not listed")]
      end
    end

    # One answer checked against one output directory.
    class Check
      # @return [Problems] what the check found wrong
      attr_reader :problems

      # @param output_dir [String] an existing directory
      def initialize(output_dir)
        @root = File.realpath(output_dir)
        @problems = Problems.new
        @seen = {}
      end

      # @param document [Object] the slicer's answer
      # @return [SliceResult, nil] nil when the answer breaks the contract (see {#problems})
      def call(document)
        pages = page_count(document)
        checked = files(document, pages).each_with_index.map { |file, i| entry(file, "/files/#{i}") }
        return unless problems.none?

        SliceResult.new(page_count: pages, files: checked.map(&:first), identities: checked.map(&:last))
      end

      private

      def page_count(document)
        return problems.add("", "is #{described(document)}, not an object") unless document.is_a?(Hash)

        pages = document["page_count"]
        return pages if pages.is_a?(Integer) && pages >= 0

        problems.add("/page_count", "is #{described(pages)}, not an Integer >= 0")
      end

      def files(document, pages)
        files = document["files"] if document.is_a?(Hash)
        return problems.add("/files", "is #{described(files)}, not an Array") || [] unless files.is_a?(Array)

        problems.add("/files", "has #{files.size} entries for page_count #{pages}") if pages && files.size != pages
        files
      end

      # [real path, [dev, ino]], or nil with a violation recorded.
      def entry(file, pointer)
        return problems.add(pointer, "not checked") if problems.full?
        return problems.add(pointer, "is #{described(file)}, not a file name") unless file.is_a?(String) && !file.empty?
        return problems.add(pointer, "#{named(file)} contains a NUL byte") if file.include?("\0")

        regular_file(file, pointer)
      end

      def regular_file(file, pointer)
        path = File.realpath(File.absolute_path(file, @root)) # absolute_path: "~" is a name like any other
        identity = inside?(path) ? opened_identity(path) : nil
        refusal = refusal(file, path, identity)
        return problems.add(pointer, refusal) if refusal

        @seen[identity] = pointer
        [path, identity]
      rescue SystemCallError, ArgumentError, EncodingError => e
        problems.add(pointer, "#{named(file)} cannot be resolved (#{reason(e)})")
      end

      # An Errno's message repeats the whole path: its description alone.
      def reason(error) = error.is_a?(SystemCallError) ? error.class.new.message : Caps.cut(error.message, Caps::NAME)

      def refusal(file, path, identity)
        if !inside?(path) then "#{named(file)} resolves to #{named(path)}, outside #{@root}"
        elsif identity.nil? then "#{named(file)} is a #{File.lstat(path).ftype}, not a regular file"
        elsif @seen.key?(identity) then "#{named(file)} is the same file as #{@seen[identity]}"
        end
      end

      def inside?(path) = path.start_with?(@root == "/" ? "/" : "#{@root}/")

      # [dev, ino] when path is a regular file, checked on the opened descriptor
      # (a FIFO or a device is never opened: lstat says what it is first).
      def opened_identity(path)
        return unless File.lstat(path).file?

        File.open(path, SliceResult::OPEN_FLAGS) do |io|
          stat = io.stat
          stat.file? ? [stat.dev, stat.ino].freeze : nil
        end
      end

      # A child-controlled name as an error message quotes it: cut and escaped.
      def named(name) = Caps.cut(name, Caps::NAME).inspect

      # What a non-String answer is, without quoting all of it.
      def described(value)
        case value
        when Array then "an Array of #{value.size} elements"
        when Hash then "an object of #{value.size} members"
        when nil then "null"
        else "#{Caps.cut(value.inspect, 40)} (#{value.class.name})"
        end
      end
    end

    # @param document [Object] the slicer's answer, already valid against {SCHEMA}
    # @param output_dir [String]
    # @param result [Result]
    # @return [SliceResult]
    # @raise [SchemaError] the answer breaks the contract
    def self.check(document, output_dir, result)
      check = Check.new(output_dir)
      check.call(document) || raise(SchemaError.new(result, check.problems.violations))
    end
  end
end
