# frozen_string_literal: true

module GazetteRunner
  # The gem's version; the Rust crates carry the same one.
  VERSION = "0.1.0"
end
