# frozen_string_literal: true

require "gazette_runner/fleet"

module GazetteApp
  # The slicer's learned bounds (issue 17, docs/estimator.md): its timeout
  # for a gazette of N pages, and the pages per fan-out chunk, come from what
  # the fleet has seen, not from one fixed 15 minutes. GAZETTE_SCRIPT_TIMEOUT
  # stays the cold start's bound and the cap of every learned one: the
  # estimator only ever shortens it. In a Sidekiq worker, what is learned is
  # shared through the app's Redis (every worker learns from all; a restart
  # loses nothing).
  #
  #   GAZETTE_MIN_TIMEOUT     no learned bound is shorter (default 60 s; at most GAZETTE_SCRIPT_TIMEOUT):
  #                           a margin for a worker busier than usual
  #   GAZETTE_CHUNK_SECONDS   the predicted p90 a fan-out chunk aims at (default 120)
  module Timing
    LOCK = Mutex.new
    # A page object of an uncompressed PDF (not the /Pages tree node).
    PAGE_OBJECT = %r{/Type\s*/Page(?![a-zA-Z])}
    # Larger files are not read for their page count (a job must not load 100 MB for it).
    PAGE_SCAN_LIMIT = 32 * 1024 * 1024

    class << self
      # @return [GazetteRunner::Estimator] the slicer's, shared with the fleet in a Sidekiq worker
      def slicer
        LOCK.synchronize { @slicer ||= build }
      end

      # Runs the block with the slicer's bound for a gazette of `pages` pages
      # and learns from how the run ended; without a page count, the block gets
      # GAZETTE_SCRIPT_TIMEOUT and nothing is learned.
      # @param pages [Integer, nil]
      # @yieldparam timeout [Float] seconds
      # @return [Object] the block's value
      def slice(pages, &)
        return yield(GazetteApp.config.script_timeout) unless pages

        slicer.run(size: pages, &)
      end

      # Pages per fan-out chunk, so that a chunk's predicted p90 is near
      # GAZETTE_CHUNK_SECONDS; nil while the slicer has learned nothing.
      # @return [Integer, nil]
      def pages_per_chunk
        slicer.size_for(duration: Float(ENV.fetch("GAZETTE_CHUNK_SECONDS", 120)), quantile: 0.9)
      end

      # The page count of an uncompressed PDF (as script/make_sample_gazette.py
      # writes them), read without running anything; nil when the file keeps
      # its page objects in compressed streams (the slicer then counts).
      # @param path [String]
      # @return [Integer, nil]
      def pages_of(path)
        return nil if File.size(path) > PAGE_SCAN_LIMIT

        count = File.binread(path).scan(PAGE_OBJECT).size
        count.positive? ? count : nil
      rescue SystemCallError
        nil
      end

      private

      def build
        timeout = GazetteApp.config.script_timeout
        shortest = [Float(ENV.fetch("GAZETTE_MIN_TIMEOUT", 60)), timeout].min
        estimator = GazetteRunner::Estimator.new("slicer", fallback: timeout, max: timeout, min: shortest)
        share(estimator) if defined?(::Sidekiq) && ::Sidekiq.server?
        estimator
      end

      # Through Sidekiq's pool (a connection for a millisecond every 5 s, on
      # the sync's own thread); the last sync runs when the worker exits.
      def share(estimator)
        sync = GazetteRunner::Fleet::EstimatorSync.new(estimator, redis: -> { ::Sidekiq.redis_pool })
        sync.start
        at_exit { sync.stop }
      end
    end
  end
end
