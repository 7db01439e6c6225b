# frozen_string_literal: true

module GazetteRunner
  # Turns a caller's `on_stdout:` / `on_stderr:` into the hook the extension
  # calls with the lines each read completed, as one frozen String in
  # Encoding.default_external. A call per line is the hot path, so the
  # callback becomes `each_line`'s block (its lines share the String's
  # buffer) and one rescue covers the read.
  # @api private
  module LineHook
    module_function

    # @param callable [#call] the caller's callback, given one line at a time
    # @yieldparam error [StandardError] what the callback raised, before it propagates
    # @return [Proc] called with a String of whole lines
    def build(callable, &on_error)
      block = callable.is_a?(Proc) ? callable : callable.method(:call).to_proc
      lambda do |text|
        each_line(text, &block)
      rescue StandardError => e
        on_error.call(e)
        raise
      end
    end

    # Splits at each "\n" byte, as the extension does (not at $/, which a host
    # can change). A "\n" separator cannot split text in an ASCII-incompatible
    # encoding (UTF-16, UTF-32: a default_external nobody sets on purpose), so
    # there the bytes are split and each line gets the text's encoding back.
    # @param text [String]
    # @yieldparam line [String]
    # @return [void]
    def each_line(text, &)
      return text.each_line("\n", &) if text.encoding.ascii_compatible?

      encoding = text.encoding
      text.b.each_line("\n") { |line| yield line.force_encoding(encoding) }
    end
  end
end
