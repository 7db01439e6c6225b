# frozen_string_literal: true

module GazetteRunner
  module Redaction
    # What {Redaction} hides beyond its built-in rules, and whether the log's
    # start line shows argv raw. Frozen; set with {Redaction.configure}.
    class Settings
      # @return [Array<Regexp>] extra patterns of keys that name a secret
      attr_reader :keys
      # @return [Array<String>] extra flags whose value is a secret, for every program
      attr_reader :flags

      # @param keys [Array<Regexp, String>] a String matches a key equal to it, ignoring case
      # @param flags [Array<String>] e.g. `%w[-P --db-url]`; a short one also hides a glued value (`-Pvalue`)
      # @param log_raw_argv [Boolean] true logs argv unredacted on the start line (nowhere else)
      # @raise [ArgumentError] a value of the wrong type
      def initialize(keys: [], flags: [], log_raw_argv: false)
        @keys = Settings.keys(keys)
        @flags = Settings.flags(flags)
        @log_raw_argv = log_raw_argv ? true : false
        freeze
      end

      # @param keys [Array<Regexp, String>]
      # @return [Array<Regexp>] frozen
      # @raise [ArgumentError]
      def self.keys(keys)
        unless keys.is_a?(Array) && keys.all? { |key| key.is_a?(Regexp) || key.is_a?(String) }
          raise ArgumentError, "keys must be an Array of Regexps or Strings, got #{keys.inspect}"
        end

        keys.map { |key| key.is_a?(String) ? /\A#{Regexp.escape(key)}\z/i : key }.freeze
      end

      # @param flags [Array<String>]
      # @return [Array<String>] frozen
      # @raise [ArgumentError]
      def self.flags(flags)
        unless flags.is_a?(Array) && flags.all? { |flag| flag.is_a?(String) && flag.match?(/\A--?[^-=\s]/) }
          raise ArgumentError, "flags must be an Array of flags such as \"-p\" or \"--db-url\", got #{flags.inspect}"
        end

        flags.map { |flag| flag.dup.freeze }.freeze
      end

      # @return [Boolean]
      def log_raw_argv? = @log_raw_argv

      # @param key [String]
      # @return [Boolean] true when one of {#keys} matches it
      def secret_key?(key) = keys.any? { |pattern| pattern.match?(key) }

      # @param options [Hash] settings to change
      # @return [Settings] a copy with them changed
      # @raise [ArgumentError] an unknown setting or a value of the wrong type
      def with(**options) = Settings.new(**{ keys:, flags:, log_raw_argv: log_raw_argv? }, **options)
    end
  end
end
