# frozen_string_literal: true

module GazetteRunner
  # What a gazette slicer produced: the page count and one file per page, each
  # checked to exist inside the output directory. Frozen.
  class SliceResult
    # @return [Integer]
    attr_reader :page_count
    # @return [Array<String>] absolute paths, in the slicer's order
    attr_reader :files

    # The original job's safe default, for jobs that prefer degrading to raising.
    # @return [SliceResult] no pages, no files
    def self.empty = EMPTY

    # @param page_count [Integer]
    # @param files [Array<String>]
    def initialize(page_count:, files:)
      @page_count = page_count
      @files = files.map { |file| file.dup.freeze }.freeze
      freeze
    end

    # @return [Hash{String=>Object}] the job's familiar `{"page_count" => n, "files" => [...]}`
    def to_h = { "page_count" => page_count, "files" => files }

    # @return [Boolean] true when there are no pages
    def empty? = page_count.zero?

    # The one empty result, returned by {.empty}.
    EMPTY = new(page_count: 0, files: [])
  end
end
