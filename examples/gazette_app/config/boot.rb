# frozen_string_literal: true

# What `sidekiq -r` loads, and what the demo and scripts require.
require_relative "application"

GazetteApp.boot!
