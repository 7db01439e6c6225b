# frozen_string_literal: true

module GazetteRunner
  VERSION = "0.1.0"
end
