# frozen_string_literal: true

module GazetteRunner
  # How much of what a child controls (its stderr, its progress messages, the
  # names it answers with) the gem keeps or forwards: every cap, in one place,
  # and the one function that applies them. A hostile child that writes
  # megabytes gets at most these many bytes into a message, a log line, a
  # Redis snapshot or the dashboard (see docs/hostile_children.md).
  module Caps
    # Bytes of stderr kept in {Result#stderr_tail}, error messages and the log's stderr_tail line.
    STDERR_TAIL = 2048
    # Bytes of invalid JSON output that {InvalidJsonError#raw} shows (the
    # message itself quotes the core's 40-byte excerpt).
    RAW_JSON = 64 * 1024
    # Bytes of a progress message forwarded (log lines, fleet snapshots, the page);
    # the same bound as the core's.
    PROGRESS_MESSAGE = 1024
    # Bytes of one child-controlled name (a file the slicer answered with) quoted in an error message.
    NAME = 256
    # Violations a {SliceContract} check lists before it only counts the rest.
    VIOLATIONS = 100
    # Bytes of any one String value in a log line (argv elements, error messages, tails).
    LOG_VALUE = 4096
    # Elements of any one Array in a log line (argv); more are counted, not listed.
    LOG_ITEMS = 64
    # Bytes of one argument as the fleet publishes it (after redaction).
    ARGUMENT = 200
    # Bytes of a Sidekiq job's class, queue or jid in a snapshot.
    JOB_FIELD = 200
    # Running children and jobs listed per snapshot; more are counted, not listed.
    SNAPSHOT_ROWS = 50
    # Bytes of one process's snapshot in Redis: a snapshot that would be larger
    # is published without its children and jobs lists (their counts stay).
    SNAPSHOT_BYTES = 128 * 1024
    # Bytes of any one text cell on the dashboard page.
    PAGE_TEXT = 1024
    # Distinct circuit breaker names one process may use (the native table keeps one entry per name).
    BREAKER_NAMES = 1024
    # Bytes of a circuit breaker's name.
    BREAKER_NAME = 256

    # The marker that ends a cut text; it says how much was left out.
    MARKER = "…[%d bytes cut]"
    private_constant :MARKER

    module_function

    # The start of `text`, at most `bytes` bytes of it, as valid UTF-8
    # (invalid bytes, and a character the cut splits, replaced), followed by
    # a marker saying how many bytes were cut: at most `bytes` + 30 bytes in
    # all. (Stderr tails keep the end instead: {Result.tail}.)
    # @param text [String, #to_s]
    # @param bytes [Integer] how many bytes of the text to keep
    # @return [String] frozen, UTF-8
    def cut(text, bytes)
      text = text.to_s
      return utf8(text) if text.bytesize <= bytes

      "#{utf8(text.byteslice(0, bytes))}#{format(MARKER, text.bytesize - bytes)}".freeze
    end

    # @param text [String]
    # @return [String] frozen, valid UTF-8 (a cut may split a character: its pieces are replaced)
    def utf8(text)
      text = text.dup.force_encoding(Encoding::UTF_8) unless text.encoding == Encoding::UTF_8
      return text.scrub.freeze unless text.valid_encoding?

      text.frozen? ? text : text.dup.freeze
    end
  end
end
