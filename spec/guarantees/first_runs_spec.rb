# frozen_string_literal: true

require "spec_helper"

# A freshly booted host (a Sidekiq process starting its threads) makes many
# first runs at once. magnus looks its classes up lazily, under a lock whose
# initialiser calls Ruby and may switch threads; had that happened on a first
# run, one thread would hold the lock waiting for the GVL while another held
# the GVL waiting for the lock — the whole process stuck, deaf even to
# SIGTERM. The extension now looks everything up while it loads.
RSpec.describe "the first runs of a fresh process" do
  children = 10
  threads = 16

  it "never deadlock when many threads make theirs at once" do
    code = <<~RUBY
      gate = Queue.new
      threads = Array.new(#{threads}) do
        Thread.new do
          gate.pop
          [GazetteRunner.run!(["true"]).exit_code, GazetteRunner.run_all([["true"]]).size]
        end
      end
      #{threads}.times { gate << :go }
      print threads.map(&:value).uniq.inspect
    RUBY
    children.times do
      status, out, err = run_ruby_child("require 'gazette_runner'; #{code}", within: time_bound(20))
      expect(status).to be_success, "a child stuck or failed: #{status.inspect} #{err}"
      expect(out).to eq("[[0, 1]]")
    end
  end
end
