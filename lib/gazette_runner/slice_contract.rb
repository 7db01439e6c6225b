# frozen_string_literal: true

module GazetteRunner
  # The gazette slicer's output contract: `{"page_count": n, "files": [...]}`
  # with one existing file per page, every one inside the output directory once
  # symlinks and `..` are resolved — a slicer that answers "/etc/passwd" gets a
  # {SchemaError}, not a file the job goes on to mail or upload.
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

    module_function

    # @param document [Hash] already valid against {SCHEMA}
    # @param output_dir [String]
    # @param result [Result]
    # @return [SliceResult]
    # @raise [SchemaError] the files break the contract
    def check(document, output_dir, result)
      root = File.realpath(output_dir)
      violations = count_violations(document)
      resolved = document["files"].each_with_index.map { |file, i| resolve(file, root, "/files/#{i}", violations) }
      raise SchemaError.new(result, violations) unless violations.empty?

      SliceResult.new(page_count: document["page_count"], files: resolved)
    end

    # @return [Array<SchemaError::Violation>] one when files and page_count disagree
    def count_violations(document)
      files, pages = document.values_at("files", "page_count")
      return [] if files.size == pages

      [JsonOutput.violation("/files", "has #{files.size} entries for page_count #{pages}")]
    end

    # The file's real path, or nil with a violation recorded.
    def resolve(file, root, pointer, violations)
      path = File.realpath(File.expand_path(file, root))
      return path if path.start_with?("#{root}/")

      violations << JsonOutput.violation(pointer, "#{file.inspect} resolves to #{path}, outside #{root}")
      nil
    rescue SystemCallError => e
      violations << JsonOutput.violation(pointer, "#{file.inspect} does not exist (#{e.message})")
      nil
    end
  end
end
