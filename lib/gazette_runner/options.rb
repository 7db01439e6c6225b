# frozen_string_literal: true

module GazetteRunner
  # Checks and normalises the arguments of {GazetteRunner.run} into what the
  # native extension takes. Every problem is an `ArgumentError` raised before
  # anything is spawned.
  # @api private
  module Options
    module_function

    # @return [Array<String>] frozen, of frozen Strings (deduplicated, so a
    #   program that is run again and again costs no new String)
    def argv(argv)
      unless argv.is_a?(Array)
        raise ArgumentError, "argv must be an Array of Strings (there is no shell), got #{argv.class}"
      end
      raise ArgumentError, "argv must name a program" if argv.empty?

      Array.new(argv.size) { |i| -argument(argv[i], i) }.freeze
    end

    # One argv element; its message names its place, never its value (it may be a secret).
    # @return [String]
    def argument(value, index)
      return value if value.instance_of?(String) && !value.include?("\0")

      string(value, "argv[#{index}]", shown: false)
    end

    # The longest duration any setting takes: runs, waits and windows are
    # bounded, and so is the arithmetic on them.
    YEAR = 366 * 24 * 3600
    # A bound shorter than this is no bound a program could meet.
    MILLISECOND = 0.001

    # What `env: nil` stands for: nothing set or unset (shared, frozen).
    NO_ENV = [].freeze

    # The one range table of the public API's numeric settings: for each name,
    # its kind (:seconds takes any finite real Numeric and gives a Float;
    # :integer takes an Integer) and its inclusive range. Every setting is
    # checked here, before anything is spawned or scheduled.
    RANGES = {
      "timeout" => [:seconds, MILLISECOND..YEAR],
      "kill_after" => [:seconds, 0..YEAR],
      "deadline" => [:seconds, 0..YEAR],
      "backoff" => [:seconds, 0..YEAR],
      "max_backoff" => [:seconds, 0..YEAR],
      "cool_off" => [:seconds, MILLISECOND..YEAR],
      "interval" => [:seconds, MILLISECOND..YEAR],
      "ttl" => [:seconds, MILLISECOND..YEAR],
      "long_job_seconds" => [:seconds, MILLISECOND..YEAR],
      "alert_window" => [:seconds, 1..YEAR],
      "max_output" => [:integer, 1..(1 << 40)],
      "memory_limit" => [:integer, 1..(1 << 60)],
      "cpu_limit" => [:integer, 1..YEAR],
      "retries" => [:integer, 0..100],
      # Programs at once in run_all: each holds about six descriptors.
      "concurrency" => [:integer, 1..256],
      "threshold" => [:integer, 1..1_000_000],
      "worker_rss_bytes" => [:integer, 1..(1 << 50)],
      "rss_target_bytes" => [:integer, 1..(1 << 50)],
      "dead_jobs" => [:integer, 1..1_000_000],
      "argv_shown" => [:integer, 0..1000],
      # A run's duration as reported (a stub's, an estimator's observation).
      "duration" => [:seconds, 0..YEAR],
      # Estimator settings (see {Estimator}).
      "quantile" => [:seconds, 0.5...1.0],
      "size_for's quantile" => [:seconds, 0.000_001...1.0],
      "margin" => [:seconds, 1..100],
      "min" => [:seconds, MILLISECOND..YEAR],
      "max" => [:seconds, MILLISECOND..YEAR],
      "fallback" => [:seconds, MILLISECOND..YEAR],
      "level_rate" => [:seconds, 0.000_001...1.0],
      "min_runs" => [:integer, 1..1_000_000_000],
      "half_life" => [:integer, 10..1_000_000_000],
      "tail_half_life" => [:integer, 10..1_000_000_000]
    }.freeze

    # Checks a numeric setting against {RANGES}.
    # @param value [Object]
    # @param name [String] a key of {RANGES}
    # @return [Float, Integer] the value, as a Float for :seconds
    # @raise [ArgumentError] not a number of the right kind, or outside its range
    def number(value, name)
      kind, range = RANGES.fetch(name)
      checked = kind == :seconds ? seconds_value(value) : (value if value.is_a?(Integer))
      return checked if checked && range.cover?(checked)

      what = kind == :seconds ? "a number of seconds" : "an Integer"
      upto = range.exclude_end? ? "up to (not including)" : "to"
      raise ArgumentError,
            "#{name} must be #{what} from #{range.begin} #{upto} #{range.end}, got #{value.inspect[0, 40]}"
    end

    # A finite real number as a Float (-0.0 as 0.0), or nil.
    # @return [Float, nil]
    def seconds_value(value)
      return nil unless value.is_a?(Numeric) && value.real?

      float = value.to_f
      float.finite? ? float + 0.0 : nil
    end

    # {number}, with nil standing for "none".
    # @return [Float, Integer, nil]
    def optional_number(value, name) = value.nil? ? nil : number(value, name)

    # @return [Array<Array(String, String), Array(String, nil)>]
    def env(env)
      return NO_ENV if env.nil?
      raise ArgumentError, "env must be a Hash, got #{env.class}" unless env.respond_to?(:to_hash)

      env.to_hash.map do |name, value|
        name = env_name(name)
        [name, value.nil? ? nil : string(value, "env value for #{name}", shown: false)]
      end
    end

    # @return [String]
    def env_name(name)
      name = string(name.is_a?(Symbol) ? name.to_s : name, "env name")
      raise ArgumentError, "invalid env name #{name.inspect}" if name.empty? || name.include?("=")

      name
    end

    # One command of run_all: an argv, or `[argv, {options}]`.
    # @return [Array(Array, Hash), Array(Array, nil)] the argv and its own options
    def batch_command(command)
      return [command, nil] unless command.is_a?(Array) && command.first.is_a?(Array)
      unless command.size == 2 && command.last.is_a?(Hash)
        raise ArgumentError, "a run_all command is an argv or [argv, {options}], got an Array of #{command.size}"
      end

      command
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

    # @param shown [Boolean] false for values that may be secrets (argv
    #   elements, env values): the error then names the value's place, never the value
    # @return [String]
    def string(value, name, shown: true)
      string = if value.respond_to?(:to_path) then value.to_path
               elsif value.respond_to?(:to_str) then value.to_str
               else
                 raise ArgumentError, "#{name} must be a String, got #{shown ? value.inspect : value.class}"
               end
      return string unless string.include?("\0")

      raise ArgumentError, "#{name} contains a NUL byte#{": #{Caps.cut(string, Caps::NAME).inspect}" if shown}"
    end
  end
end
