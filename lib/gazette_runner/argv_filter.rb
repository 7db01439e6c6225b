# frozen_string_literal: true

module GazetteRunner
  # Rails' `config.filter_parameters` applied to a program's argv before the
  # start line logs it: the value of a flag whose name matches a filter is
  # replaced by {FILTERED}, whether it is given as `--api-key VALUE`,
  # `--api-key=VALUE` or `api_key=VALUE`. Filters match the way Rails matches
  # parameter names: a String or Symbol anywhere in the name, ignoring case; a
  # Regexp as written. A flag's dashes also match as underscores, so
  # `:api_key` filters `--api-key`. Set through {GazetteRunner.filter_parameters=}
  # (the Railtie passes `Rails.application.config.filter_parameters`).
  module ArgvFilter
    # What a filtered value becomes (what Rails writes in its logs).
    FILTERED = "[FILTERED]"
    # A flag or KEY=VALUE argument: the name, then `=` and the value if glued.
    NAMED = /\A(?<dashes>-{0,2})(?<name>[A-Za-z_][\w.-]*)(?<value>=.*)?\z/m
    private_constant :NAMED
    @filters = [].freeze
    @pattern = nil

    class << self
      # @return [Array<String, Symbol, Regexp>] the filters in force (frozen)
      attr_reader :filters

      # @param filters [Array<String, Symbol, Regexp>] an empty list filters nothing
      # @raise [ArgumentError] an entry is neither a String, a Symbol nor a Regexp
      #   (a Rails filter Proc cannot be applied to argv: leave it out)
      def filters=(filters)
        list = Array(filters).map do |filter|
          next filter if filter.is_a?(Regexp)
          next filter.to_s.dup.freeze if filter.is_a?(String) || filter.is_a?(Symbol)

          raise ArgumentError, "filter_parameters entries must be Strings, Symbols or Regexps, got #{filter.inspect}"
        end.freeze
        @pattern = list.empty? ? nil : Regexp.union(list.map { |filter| matcher(filter) })
        @filters = list
      end

      # @param name [String] a flag's name without its dashes, e.g. "api-key"
      # @return [Boolean] true when a filter matches it
      def secret_name?(name)
        pattern = @pattern
        return false unless pattern

        pattern.match?(name) || pattern.match?(name.tr("-", "_"))
      end

      # @param argv [Array<String>]
      # @return [Array<String>] argv with every filtered value replaced (argv itself when nothing is filtered)
      def redact(argv)
        return argv unless @pattern

        value_follows = false
        argv.each_with_index.map do |arg, index|
          shown, value_follows = value_follows ? [FILTERED, false] : redact_one(arg, index)
          shown
        end
      end

      private

      # @return [Array(String, Boolean)] the argument as logged, and whether the
      #   next one is a filtered flag's value
      def redact_one(arg, index)
        named = index.positive? && NAMED.match(arg) # argv[0] is the program
        return [arg, false] unless named && secret_name?(named[:name])
        return ["#{named[:dashes]}#{named[:name]}=#{FILTERED}", false] if named[:value]

        # A bare flag takes the next argument as its value; a bare word is not a flag.
        [arg, !named[:dashes].empty?]
      end

      def matcher(filter) = filter.is_a?(Regexp) ? filter : Regexp.new(Regexp.escape(filter), Regexp::IGNORECASE)
    end
  end
end
