# frozen_string_literal: true

# Waiting for work the extension does after a call returns (see support.rb for the rest of Bench).
module Bench
  module_function

  # The extension frees a validated JSON tree on a detached thread (named
  # gazette-json-free, which /proc cuts to 15 characters); waits (at most 30 s)
  # until none is left, so its work is not charged to the next sample.
  def await_background(within: 30)
    deadline = now + within
    sleep 0.005 while Dir.glob("/proc/self/task/*/comm").any? { |path| background?(path) } && now < deadline
  end

  # A thread that ended between the glob and the read is not background work.
  def background?(comm_path)
    File.read(comm_path).start_with?("gazette-json-fr")
  rescue SystemCallError
    false
  end
end
