# frozen_string_literal: true

# Someone who uploads gazettes and is told by mail how each one went.
class User < ActiveRecord::Base
  has_many :documents, dependent: :destroy
end
