# frozen_string_literal: true

# How a gazette is split for the fan-out: whether it is split at all, and into
# which page ranges. Chunk sizes come from a setting for now; when the
# estimator of learned bounds (issue 17) exists, #pages_per_chunk is the one
# method to redirect to its predictions.
class ChunkPlan
  # @param config [GazetteApp::Config]
  def initialize(config = GazetteApp.config)
    @config = config
  end

  # @param page_count [Integer]
  # @return [Boolean] true when the gazette is sliced by several jobs
  def fan_out?(page_count) = page_count > @config.fan_out_above && ranges(page_count).size > 1

  # @param page_count [Integer]
  # @return [Integer] pages per chunk, at least 1
  # Learned (each chunk's predicted p90 near GAZETTE_CHUNK_SECONDS) once the
  # estimator has seen enough runs; the setting until then.
  def pages_per_chunk(_page_count) = GazetteApp::Timing.pages_per_chunk || [@config.chunk_pages, 1].max

  # @param page_count [Integer]
  # @return [Array<Range>] 1-based, inclusive, in page order, covering every page once
  def ranges(page_count)
    size = pages_per_chunk(page_count)
    (1..page_count).step(size).map { |first| first..[first + size - 1, page_count].min }
  end
end
