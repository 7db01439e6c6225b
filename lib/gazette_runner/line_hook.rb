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
        text.each_line("\n", &block) # not $/: the split is always at "\n"
      rescue StandardError => e
        on_error.call(e)
        raise
      end
    end
  end
end
