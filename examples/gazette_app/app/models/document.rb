# frozen_string_literal: true

# An uploaded gazette; DocumentProcessingJob slices it into one PDF per page.
class Document < ActiveRecord::Base
  belongs_to :user
  serialize :files, JSON

  TERMINAL = %w[done failed].freeze

  def finished? = TERMINAL.include?(status)

  def output_dir = File.join(GazetteApp.config.output_root, "document-#{id}")

  # What a status page shows while the job runs: "40% page 2 of 5".
  def progress_text = progress_percent && ["#{progress_percent}%", progress_message].compact.join(" ")

  def link = "https://gazettes.example/documents/#{id}"
end
