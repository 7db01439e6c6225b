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
    LAST_WORD = /\A(?:\w*(?:token|key|cookie|passwd|pwd|auth|signature)|pass|pw|creds|
                    authorization|authentication|bearer|dsn|sig|otp)\z/x
    # Words that name a secret wherever they appear in a key.
    ANY_WORD = /password|passphrase|secret|credential|sessionid|apikey|privatekey/
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
    WHOLE_PAIR = /\A([A-Za-z_][\w.\[\]-]*)=(.+)\z/m
    PAIR = /([?&;#\s]|\A)([A-Za-z_][\w.\[\]-]*)=([^&;#\s]*)/
    HEADER = /\A\s*([A-Za-z][\w-]*)\s*:\s*(\S.*)\z/m
    JSON_MEMBER = /"([^"\\]{1,100})"(\s*:\s*)"(?:[^"\\]|\\.)*"/
    SCHEME_CREDENTIALS = /\b(Bearer|Basic)\s+[^\s,;"']+/i
    URL_USERINFO = %r{([a-z][a-z0-9+.-]*://)[^/?#\s]*@}i
    # Arguments with none of these characters can only be a flag or a plain value.
    PLAIN = %r{\A[\w/.,+-]*\z}
    private_constant :WHOLE_PAIR, :PAIR, :HEADER, :JSON_MEMBER, :SCHEME_CREDENTIALS, :URL_USERINFO, :PLAIN

    class << self
      # @return [Settings] the settings in force
      def settings = @settings ||= Settings.new

      # Changes the settings (configure every process that runs programs alike).
      #
      #   GazetteRunner::Redaction.configure(keys: [/\Adb_url\z/i], flags: %w[-P])
      #
      # @param options [Hash] any keyword of {Settings#initialize}
      # @return [Settings] the new settings
      # @raise [ArgumentError] an unknown setting or a value of the wrong type
      def configure(**options) = (@settings = settings.with(**options))

      # Back to the defaults.
      # @return [Settings]
      def reset! = (@settings = Settings.new)

      # @param argv [Array<String>] a program and its arguments
      # @return [Array<String>] frozen: argv with every secret replaced by {REDACTED}
      def argv(argv) = Arguments.new(argv.map(&:to_s), settings).shown

      # The program alone, as error messages and log lines name it.
      # @param argv [Array<String>]
      # @return [String]
      def program(argv) = text(argv.first)

      # What the log's start line shows: {.argv}, or argv itself with `log_raw_argv: true`.
      # @param argv [Array<String>]
      # @return [Array<String>]
      def loggable(argv) = settings.log_raw_argv? ? argv : self.argv(argv)

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

      # An exception as a log line may show it: its class and its message,
      # with secrets hidden ({.text}) and cut to {Caps::LOG_VALUE} bytes.
      # @param error [Exception]
      # @return [String]
      def error(error) = "#{error.class}: #{Caps.cut(text(error.message), Caps::LOG_VALUE)}"

      # @param key [String] a flag's name, a parameter, variable or header name
      # @return [Boolean] true when it names a secret
      def secret_key?(key)
        key = key.to_s
        return settings.secret_key?(key) unless key.match?(HINT)

        words = key.gsub(/([a-z\d])([A-Z])/, '\1_\2').downcase.split(/[^a-z0-9]+/).reject(&:empty?)
        words.last&.match?(LAST_WORD) || words.join.match?(ANY_WORD) || settings.secret_key?(key)
      end

      private

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

require_relative "redaction/settings"
require_relative "redaction/arguments"
