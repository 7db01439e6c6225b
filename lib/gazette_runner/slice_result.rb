# frozen_string_literal: true

module GazetteRunner
  # What a gazette slicer produced: the page count and one file per page, each
  # checked to be a distinct regular file inside the output directory. Frozen.
  #
  # The paths were checked when the slicer had exited; reading them later by
  # name trusts that nothing replaced them since. {#each_file} does not: it
  # opens each one without following a final symlink and checks that it is
  # still the very file (device and inode) that was checked.
  class SliceResult
    # What {#each_file} opens files with: read-only, no final symlink, no
    # blocking open (a FIFO put in a file's place is refused, not waited on).
    # Ruby opens every file close-on-exec.
    OPEN_FLAGS = File::RDONLY | File::NOFOLLOW | File::NONBLOCK

    # @return [Integer]
    attr_reader :page_count
    # @return [Array<String>] absolute paths, in the slicer's order
    attr_reader :files

    # The original job's safe default, for jobs that prefer degrading to raising.
    # @return [SliceResult] no pages, no files
    def self.empty = EMPTY

    # @param page_count [Integer]
    # @param files [Array<String>]
    # @param identities [Array<Array(Integer, Integer)>, nil] each file's
    #   [device, inode] when it was checked; nil checks only that each is a regular file
    def initialize(page_count:, files:, identities: nil)
      @page_count = page_count
      @files = files.map { |file| file.dup.freeze }.freeze
      @identities = identities&.map { |identity| identity.dup.freeze }&.freeze
      freeze
    end

    # Yields each page's file, opened for reading, in order, and closes it
    # after the block.
    # @yieldparam file [File] open read-only
    # @return [self, Enumerator] self, or an Enumerator without a block
    # @raise [ChangedFileError] a file is gone, is no longer a regular file,
    #   or is no longer the file that was checked
    def each_file
      return enum_for(:each_file) unless block_given?

      files.each_with_index do |path, i|
        file = checked_open(path, @identities&.at(i))
        begin
          yield file
        ensure
          file.close
        end
      end
      self
    end

    # @return [Hash{String=>Object}] the job's familiar `{"page_count" => n, "files" => [...]}`
    def to_h = { "page_count" => page_count, "files" => files }

    # @return [Boolean] true when there are no pages
    def empty? = page_count.zero?

    private

    def checked_open(path, identity)
      file = File.open(path, OPEN_FLAGS)
      stat = file.stat
      problem = if !stat.file? then "it is a #{stat.ftype} now"
                elsif identity && identity != [stat.dev, stat.ino] then "another file took its place"
                end
      return file unless problem

      file.close
      raise ChangedFileError.new(path, problem)
    rescue SystemCallError => e
      file&.close
      raise ChangedFileError.new(path, e.message)
    end

    # The one empty result, returned by {.empty}.
    EMPTY = new(page_count: 0, files: [])
  end
end
