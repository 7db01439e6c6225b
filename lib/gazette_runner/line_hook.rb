# frozen_string_literal: true

module GazetteRunner
  # Turns a caller's `on_stdout:` / `on_stderr:` into the hook the extension
  # calls with the lines of each read (frozen Strings in
  # Encoding.default_external). A call per line is the hot path, so the
  # callback becomes the loop's block and one rescue covers the batch.
  # @api private
  module LineHook
    module_function

    # @param callable [#call] the caller's callback, given one line at a time
    # @yieldparam error [StandardError] what the callback raised, before it propagates
    # @return [Proc] called with an Array of lines
    def build(callable, &on_error)
      block = callable.is_a?(Proc) ? callable : callable.method(:call).to_proc
      lambda do |lines|
        lines.each(&block)
      rescue StandardError => e
        on_error.call(e)
        raise
      end
    end
  end
end
