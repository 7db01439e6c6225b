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

    module_function

    # @param document [Object] the slicer's answer, already valid against {SCHEMA}
    # @param output_dir [String]
    # @param result [Result]
    # @return [SliceResult]
    # @raise [SchemaError] the answer breaks the contract
    def check(document, output_dir, result)
      root = File.realpath(output_dir)
      problems = Problems.new
      pages, files = shape(document, problems)
      seen = {}
      checked = files.each_with_index.map do |file, i|
        problems.full? ? problems.add("/files/#{i}", "not checked") : regular_file(file, root, "/files/#{i}", problems, seen)
      end
      raise SchemaError.new(result, problems.violations) unless problems.none?

      SliceResult.new(page_count: pages, files: checked.map(&:first), identities: checked.map(&:last))
    end

    # The page count and the file list, or violations when they are not an
    # Integer and an Array of the same size.
    def shape(document, problems)
      pages, files = document.values_at("page_count", "files") if document.is_a?(Hash)
      problems.add("", "is #{described(document)}, not an object") unless document.is_a?(Hash)
      problems.add("/page_count", "is #{described(pages)}, not an Integer >= 0") unless pages.is_a?(Integer) && pages >= 0
      problems.add("/files", "is #{described(files)}, not an Array") unless files.is_a?(Array)
      return [pages, []] unless files.is_a?(Array)

      problems.add("/files", "has #{files.size} entries for page_count #{pages}") if pages.is_a?(Integer) && files.size != pages
      [pages, files]
    end

    # [real path, [dev, ino]] of a regular file inside root named once, or nil with a violation recorded.
    def regular_file(file, root, pointer, problems, seen) # rubocop:disable Metrics/MethodLength
      return problems.add(pointer, "is #{described(file)}, not a file name") unless file.is_a?(String) && !file.empty?
      return problems.add(pointer, "#{named(file)} contains a NUL byte") if file.include?("\0")

      path = File.realpath(File.absolute_path(file, root))
      return problems.add(pointer, "#{named(file)} resolves to #{named(path)}, outside #{root}") unless inside?(path, root)

      identity = opened_identity(path)
      return problems.add(pointer, "#{named(file)} is #{kind(path)}, not a regular file") unless identity
      return problems.add(pointer, "#{named(file)} is the same file as #{seen[identity]}") if seen.key?(identity)

      seen[identity] = pointer
      [path, identity]
    rescue SystemCallError, ArgumentError, EncodingError => e
      # An Errno's message repeats the whole path: its description alone.
      reason = e.is_a?(SystemCallError) ? e.class.new.message : Caps.cut(e.message, Caps::NAME)
      problems.add(pointer, "#{named(file)} cannot be resolved (#{reason})")
    end

    def inside?(path, root) = path.start_with?(root == "/" ? "/" : "#{root}/") && path != root

    # [dev, ino] when path is a regular file, checked on the opened descriptor
    # (a FIFO or a device is never opened: lstat says what it is first).
    def opened_identity(path)
      return unless File.lstat(path).file?

      File.open(path, SliceResult::OPEN_FLAGS) do |io|
        stat = io.stat
        stat.file? ? [stat.dev, stat.ino].freeze : nil
      end
    end

    def kind(path) = "a #{File.lstat(path).ftype}"

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
end
