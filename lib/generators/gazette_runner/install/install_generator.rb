# frozen_string_literal: true

require "rails/generators"

module GazetteRunner
  # Rails generators (found by `rails generate` on the load path).
  module Generators
    # `rails generate gazette_runner:install`: writes
    # config/initializers/gazette_runner.rb, every setting of the Railtie
    # with its default, commented out.
    class InstallGenerator < ::Rails::Generators::Base
      source_root File.expand_path("templates", __dir__)
      desc "Writes config/initializers/gazette_runner.rb, a commented list of gazette_runner's settings."

      # @return [void]
      def create_initializer
        copy_file "gazette_runner.rb", "config/initializers/gazette_runner.rb"
      end
    end
  end
end
