# frozen_string_literal: true

module GazetteRunner
  # The one function that hides secrets in a program's argv (or in any text)
  # before it leaves the process: the log's start line, {Event#argv} (and so
  # ActiveSupport payloads), fleet snapshots in Redis, the dashboard and the
  # JSON endpoint. What it hides (see docs/hostile_children.md):
  #
  # - the value of a flag whose name names a secret: `--api-key VALUE`,
  #   `--api-key=VALUE`, `--key VALUE`, `-password VALUE`;
  # - the value after a flag given in `flags:`, also glued to a short one
  #   (`-pSECRET`), and, by default, `-p` of the MySQL/MariaDB/Mongo clients
  #   and sshpass and `-a` of redis-cli;
  # - the password of `-u user:pass`, `--user user:pass`, `-uuser:pass`;
  # - `KEY=VALUE` arguments, query and form parameters (`?api_key=`,
  #   `&token=`, `#access_token=`) and JSON members (`"password": "…"`) whose
  #   key names a secret;
  # - header arguments whose name names a secret (`Authorization: …`,
  #   `X-Api-Key: …`, `Cookie: …`) and `Bearer …`/`Basic …` credentials anywhere;
  # - the user information of every URL in an argument (`https://user:pass@host`).
  #
  # A key names a secret when its last word (split at `-`, `_`, `.` and
  # camelCase) is key, pass, pwd, auth, token, … or any of its words
  # contains password, secret or credential (see {.secret_key?}), or when it
  # matches one of the `keys:` given to {.configure}. Paths and ordinary
  # flags (`--pages 1-5`, `/tmp/secret/a.pdf`) are left alone.
  module Redaction
    # What a hidden value becomes.
    REDACTED = "[redacted]"
    # Last words of a key that name a secret.
    LAST_WORD = /\A(?:\w*(?:token|apikey|key|cookie|sessionid)|pass|passwd|pwd|pw|creds|auth|oauth|
                    authorization|authentication|bearer|dsn|sig|signature|otp)\z/x
    # Words that name a secret wherever they appear in a key.
    ANY_WORD = /password|passphrase|secret|credential/
    # Every key that names a secret contains one of these (a quick first test).
    HINT = /key|pass|pw|auth|token|cookie|session|bearer|dsn|sig|otp|secret|credential|creds/i
    # Flags whose value is `user:password`: the password part is hidden.
    USER_FLAGS = %w[-u --user --proxy-user].freeze
    # Short flags that take a secret, per program (basename of argv[0]).
    PROGRAM_FLAGS = {
      "mysql" => %w[-p], "mysqldump" => %w[-p], "mysqladmin" => %w[-p], "mariadb" => %w[-p],
      "mariadb-dump" => %w[-p], "mongo" => %w[-p], "mongosh" => %w[-p], "mongodump" => %w[-p],
      "sshpass" => %w[-p], "redis-cli" => %w[-a]
    }.freeze
    # The settings and their defaults: `keys` (extra Regexps or Strings naming
    # secret keys), `flags` (extra flags whose value is a secret, for every
    # program), `log_raw_argv` (true logs argv unredacted on the start line).
    DEFAULTS = { keys: [].freeze, flags: [].freeze, log_raw_argv: false }.freeze

    FLAG = /\A(--?)([A-Za-z][\w.-]*)(?:=(.*))?\z/m
    WHOLE_PAIR = /\A([A-Za-z_][\w.\[\]-]*)=(.+)\z/m
    PAIR = /([?&;#\s]|\A)([A-Za-z_][\w.\[\]-]*)=([^&;#\s]*)/
    HEADER = /\A\s*([A-Za-z][\w-]*)\s*:\s*(\S.*)\z/m
    JSON_MEMBER = /"([^"\\]{1,100})"(\s*:\s*)"(?:[^"\\]|\\.)*"/
    SCHEME_CREDENTIALS = /\b(Bearer|Basic)\s+[^\s,;"']+/i
    URL_USERINFO = %r{([a-z][a-z0-9+.-]*://)[^/?#\s]*@}i
    # Arguments with none of these characters can only be a flag or a plain value.
    PLAIN = %r{\A[\w/.,+-]*\z}
    private_constant :FLAG, :WHOLE_PAIR, :PAIR, :HEADER, :JSON_MEMBER, :SCHEME_CREDENTIALS, :URL_USERINFO, :PLAIN

    @settings = DEFAULTS

    class << self
      # @return [Hash{Symbol=>Object}] the settings in force (frozen)
      attr_reader :settings

      # Changes the settings (every process that runs programs should configure alike).
      #
      #   GazetteRunner::Redaction.configure(keys: [/\Adb_url\z/i], flags: %w[-P])
      #
      # @param options [Hash] `keys:` (Array of Regexp or String), `flags:` (Array of String),
      #   `log_raw_argv:` (Boolean)
      # @return [Hash{Symbol=>Object}] the new settings
      # @raise [ArgumentError] an unknown setting or a value of the wrong type
      def configure(**options)
        unknown = options.keys - DEFAULTS.keys
        raise ArgumentError, "unknown redaction settings: #{unknown.join(", ")}" unless unknown.empty?

        @settings = validated(@settings.merge(options))
      end

      # Back to {DEFAULTS}.
      # @return [Hash{Symbol=>Object}]
      def reset! = (@settings = DEFAULTS)

      # @param argv [Array<String>] a program and its arguments
      # @return [Array<String>] frozen: argv with every secret replaced by {REDACTED}
      def argv(argv)
        argv = argv.map(&:to_s)
        flags = secret_flags(argv.first)
        hide_next = false
        argv.each_with_index.map do |arg, i|
          shown = if hide_next then hidden_value(argv[i - 1], arg)
                  elsif i.zero? then text(arg)
                  else argument(arg, flags)
                  end
          hide_next = i.positive? && !hide_next && takes_secret?(arg, flags)
          shown.freeze
        end.freeze
      end

      # The program alone, as error messages and log lines name it.
      # @param argv [Array<String>]
      # @return [String]
      def program(argv) = text(argv.first)

      # What the log's start line shows: {.argv}, or argv itself with `log_raw_argv: true`.
      # @param argv [Array<String>]
      # @return [Array<String>]
      def loggable(argv) = settings[:log_raw_argv] ? argv : self.argv(argv)

      # Free text (an argument alone, an exception's message) with URL
      # credentials, secret parameters, headers and Bearer/Basic credentials hidden.
      # @param text [String]
      # @return [String]
      def text(text)
        text = text.to_s
        return text if text.match?(PLAIN)

        text = Caps.utf8(text) unless text.valid_encoding?
        whole = text.match(WHOLE_PAIR) || text.match(HEADER)
        return "#{whole[1]}#{whole.regexp == HEADER ? ": " : "="}#{REDACTED}" if whole && secret_key?(whole[1])

        inline(text)
      end

      # @param key [String] a flag's name, a parameter, variable or header name
      # @return [Boolean] true when it names a secret
      def secret_key?(key)
        return settings[:keys].any? { |pattern| pattern.match?(key) } unless key.to_s.match?(HINT)

        words = key.to_s.gsub(/([a-z\d])([A-Z])/, '\1_\2').downcase.split(/[^a-z0-9]+/).reject(&:empty?)
        return false if words.empty?

        words.last.match?(LAST_WORD) || words.join.match?(ANY_WORD) ||
          settings[:keys].any? { |pattern| pattern.match?(key) }
      end

      private

      def validated(settings)
        keys = settings[:keys]
        unless keys.is_a?(Array) && keys.all? { |k| k.is_a?(Regexp) || k.is_a?(String) }
          raise ArgumentError, "keys must be an Array of Regexps or Strings"
        end
        unless settings[:flags].is_a?(Array) && settings[:flags].all? { |f| f.is_a?(String) && f.start_with?("-") }
          raise ArgumentError, "flags must be an Array of Strings starting with -"
        end

        keys = keys.map { |k| k.is_a?(String) ? /\A#{Regexp.escape(k)}\z/i : k }.freeze
        { keys:, flags: settings[:flags].map { |f| f.dup.freeze }.freeze,
          log_raw_argv: settings[:log_raw_argv] ? true : false }.freeze
      end

      def secret_flags(program) = settings[:flags] + PROGRAM_FLAGS.fetch(File.basename(program.to_s), [])

      # True when the argument is a flag whose value, the next argument, is secret.
      def takes_secret?(arg, flags)
        return true if flags.include?(arg) || USER_FLAGS.include?(arg)

        flag = arg.match(FLAG)
        flag && flag[3].nil? && secret_key?(flag[2])
      end

      # `-u` is also Python's "unbuffered": only a `user:password` value is a secret.
      def hidden_value(flag, value)
        return REDACTED unless USER_FLAGS.include?(flag)

        value.include?(":") ? "#{value[/\A[^:]*/]}:#{REDACTED}" : text(value)
      end

      def argument(arg, flags)
        glued = dashed_short?(arg[0, 2]) && glued(arg, flags)
        return glued if glued

        flag = arg.match(FLAG)
        return flag_argument(arg, flag, flags) if flag

        text(arg)
      end

      def flag_argument(arg, flag, flags)
        dashes, name, value = flag.captures
        return arg unless value

        whole = "#{dashes}#{name}"
        shown = if flags.include?(whole) || USER_FLAGS.include?(whole) then hidden_value(whole, value)
                elsif secret_key?(name) then REDACTED
                else text(value)
                end
        "#{whole}=#{shown}"
      end

      # `-pSECRET` for a secret short flag `-p`; `-uuser:pass` for `-u`.
      def glued(arg, flags)
        short = arg[0, 2]
        return unless dashed_short?(short) && arg.size > 2
        return "#{short}#{REDACTED}" if flags.include?(short)

        "#{short}#{hidden_value(short, arg[2..])}" if USER_FLAGS.include?(short) && arg.include?(":")
      end

      def dashed_short?(short) = short.match?(/\A-[A-Za-z]\z/)

      def inline(text)
        text.gsub(URL_USERINFO) { "#{Regexp.last_match(1)}#{REDACTED}@" }
            .gsub(PAIR) { pair(Regexp.last_match) }
            .gsub(JSON_MEMBER) { json_member(Regexp.last_match) }
            .gsub(SCHEME_CREDENTIALS) { "#{Regexp.last_match(1)} #{REDACTED}" }
      end

      def pair(match)
        separator, key, = match.captures
        secret_key?(key) ? "#{separator}#{key}=#{REDACTED}" : match[0]
      end

      def json_member(match)
        key, colon = match.captures
        secret_key?(key) ? %("#{key}"#{colon}"#{REDACTED}") : match[0]
      end
    end
  end
end
