# frozen_string_literal: true

module GazetteRunner
  # Checks and normalises the arguments of {GazetteRunner.run} into what the
  # native extension takes. Every problem is an `ArgumentError` raised before
  # anything is spawned.
  # @api private
  module Options
    module_function

    # @return [Array<String>]
    def argv(argv)
      unless argv.is_a?(Array)
        raise ArgumentError, "argv must be an Array of Strings (there is no shell), got #{argv.class}"
      end
      raise ArgumentError, "argv must name a program" if argv.empty?

      argv.map { |arg| string(arg, "argv element") }
    end

    # @return [Float]
    def seconds(value, name, allow_zero: false)
      return value.to_f if finite?(value) && (allow_zero ? value >= 0 : value.positive?)

      raise ArgumentError, "#{name} must be a finite number of seconds #{allow_zero ? ">= 0" : "> 0"}, " \
                           "got #{value.inspect}#{" (runs cannot be unbounded)" if name == "timeout"}"
    end

    # @return [Boolean]
    def finite?(value) = value.is_a?(Numeric) && value.real? && value.to_f.finite?

    # @return [Integer, nil]
    def positive_integer(value, name, optional: true)
      return nil if value.nil? && optional

      unless value.is_a?(Integer) && value.positive?
        raise ArgumentError,
              "#{name} must be a positive Integer, got #{value.inspect}"
      end

      value
    end

    # @return [Array<Array(String, String), Array(String, nil)>]
    def env(env)
      return [] if env.nil?
      raise ArgumentError, "env must be a Hash, got #{env.class}" unless env.respond_to?(:to_hash)

      env.to_hash.map do |name, value|
        name = env_name(name)
        [name, value.nil? ? nil : string(value, "env value for #{name}")]
      end
    end

    # @return [String]
    def env_name(name)
      name = string(name.is_a?(Symbol) ? name.to_s : name, "env name")
      raise ArgumentError, "invalid env name #{name.inspect}" if name.empty? || name.include?("=")

      name
    end

    # @return [String, nil]
    def optional_string(value, name)
      value.nil? ? nil : string(value, name)
    end

    # Bytes for the program's stdin: any String, NUL bytes included.
    # @return [String, nil]
    def stdin(value)
      return nil if value.nil?
      raise ArgumentError, "stdin must be a String, got #{value.class}" unless value.respond_to?(:to_str)

      value.to_str
    end

    # @return [String]
    def string(value, name)
      string = if value.respond_to?(:to_path) then value.to_path
               elsif value.respond_to?(:to_str) then value.to_str
               else
                 raise ArgumentError, "#{name} must be a String, got #{value.inspect}"
               end
      raise ArgumentError, "#{name} contains a NUL byte: #{string.inspect}" if string.include?("\0")

      string
    end
  end
end
