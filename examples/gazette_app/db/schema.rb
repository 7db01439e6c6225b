# frozen_string_literal: true

# Created on boot when missing (there are no migrations in this small app).
ActiveRecord::Schema.define do
  create_table :users, if_not_exists: true do |t|
    t.string :email, null: false
    t.timestamps
  end

  create_table :documents, if_not_exists: true do |t|
    t.references :user, null: false
    t.string :title, null: false
    t.string :source_path, null: false
    t.string :status, null: false, default: "queued" # queued, processing, done, failed
    t.string :description
    t.integer :page_count
    t.text :files
    t.integer :progress_percent
    t.string :progress_message
    t.string :error_kind
    t.text :error_message
    t.float :duration
    t.datetime :started_at
    t.datetime :finished_at
    t.datetime :mailed_at
    t.datetime :deadline_at # the whole document's, set when its processing starts
    t.integer :chunk_count # page ranges sliced in parallel; nil when sliced by one job
    t.timestamps
  end
end
