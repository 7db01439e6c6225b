# frozen_string_literal: true

require "json"

module GazetteRunner
  # Turns a successful {Result}'s stdout into Ruby objects, or the
  # {OutputError} that says why it cannot. Parsing and schema validation happen
  # in the Rust core (serde_json and the jsonschema crate).
  # @api private
  module JsonOutput
    module_function

    # @param result [Result]
    # @param schema [Hash, String, nil] a JSON Schema, as a Hash or as JSON text
    # @param symbolize_names [Boolean]
    # @return [Object] the parsed document
    # @raise [EmptyOutputError, InvalidJsonError, SchemaError]
    def parse(result, schema: nil, symbolize_names: false)
      tag, *details = Native.parse_json(result.stdout, schema_text(schema), symbolize_names ? true : false)
      case tag
      when :ok then details.first
      when :empty then raise EmptyOutputError, result
      when :invalid then raise InvalidJsonError.new(result, *details)
      when :schema then raise schema_error(result, *details)
      end
    end

    # @param result [Result]
    # @param kept [Array<Array(String, String)>] the first violations, as pointer and message
    # @param total [Integer, nil] how many there were in all (nil: too many to count)
    # @return [SchemaError]
    def schema_error(result, kept, total)
      SchemaError.new(result, kept.map { |pointer, message| violation(pointer, message) }, violation_count: total)
    end

    # @return [SchemaError::Violation]
    def violation(pointer, message) = SchemaError::Violation.new(pointer:, message:)

    # The schema as JSON text; the core compiles each distinct text once.
    def schema_text(schema)
      case schema
      when nil then nil
      when String then schema
      when Hash then JSON.generate(schema)
      else raise ArgumentError, "schema must be a Hash or a JSON String, got #{schema.class}"
      end
    end
  end
end
