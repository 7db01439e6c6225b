# frozen_string_literal: true

module GazetteRunner
  # A progress report the program wrote on stderr as a line
  # `PROGRESS <percent>[ <message>]` (see {PATTERN}). The line stays in stderr;
  # the native extension parses it as the program runs. Frozen.
  class Progress
    # The protocol, for programs to follow and for documentation: 1 to 3 digits
    # of percent, then optionally one space and a free-form message, alone on
    # its line. The Rust core applies the same pattern.
    PATTERN = /\APROGRESS (\d{1,3})(?: (.*))?\z/

    # @return [Integer] the percent the program reported
    attr_reader :percent
    # @return [String, nil] the message after the percent, if any
    attr_reader :message

    # @param percent [Integer]
    # @param message [String, nil] kept up to {Caps::PROGRESS_MESSAGE} bytes
    #   (a longer one is cut, as UTF-8, with a marker)
    def initialize(percent:, message: nil)
      @percent = percent
      @message = message && Progress.kept(message)
      freeze
    end

    # @api private
    # @param message [String]
    # @return [String] frozen, in `Encoding.default_external`, at most {Caps::PROGRESS_MESSAGE} bytes and a marker
    def self.kept(message)
      message = +Caps.cut(message, Caps::PROGRESS_MESSAGE) if message.bytesize > Caps::PROGRESS_MESSAGE
      (+message).force_encoding(Encoding.default_external).freeze
    end

    # @api private
    # @param raw [Array(Integer, String), Array(Integer, nil), nil] as the native extension returns it
    # @return [Progress, nil]
    def self.from_native(raw) = raw && new(percent: raw[0], message: raw[1])

    # @param other [Object]
    # @return [Boolean] true for a Progress with the same percent and message
    def ==(other) = other.is_a?(Progress) && other.percent == percent && other.message == message
    alias eql? ==

    # @return [Integer]
    def hash = [percent, message].hash

    # @return [Hash{Symbol=>Object}] `{percent:, message:}`
    def to_h = { percent:, message: }

    # @return [String] e.g. "40% reading page 3"
    def to_s = message ? "#{percent}% #{message}" : "#{percent}%"

    # @return [String]
    def inspect = "#<#{self.class.name} #{self}>"
  end
end
