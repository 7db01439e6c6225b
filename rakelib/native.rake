# frozen_string_literal: true

require_relative "native_gem"

desc "Build pkg/gazette_runner-VERSION-#{Gem::Platform.local}.gem: the extension precompiled for this Ruby " \
     "(no Rust needed to install it)"
task native: :compile do
  puts "built #{NativeGem.build("pkg")}"
end
