# frozen_string_literal: true

require "json"
require "open3"

# A cargo-deny-style licence check that needs nothing beyond cargo: every crate
# in Cargo.lock must be usable under a licence this list allows. The gem itself
# is MIT and depends on no other gem at run time.
module LicenceCheck
  ALLOWED = %w[
    MIT MIT-0 Apache-2.0 BSD-2-Clause BSD-3-Clause ISC Zlib Unlicense CC0-1.0 BSL-1.0
    Unicode-3.0 Unicode-DFS-2016
  ].freeze

  module_function

  # True when the SPDX expression (old `A/B` spelling included) can be met
  # with allowed licences alone. `X WITH exception` counts as X.
  def acceptable?(expression)
    tokens = expression.gsub("/", " OR ").gsub(/[()]/, " \\0 ").split
    value, rest = disjunction(tokens)
    raise ArgumentError, "cannot read licence #{expression.inspect}" unless rest.empty?

    value
  end

  def disjunction(tokens)
    value, tokens = conjunction(tokens)
    while tokens.first == "OR"
      other, tokens = conjunction(tokens.drop(1))
      value ||= other
    end
    [value, tokens]
  end

  def conjunction(tokens)
    value, tokens = term(tokens)
    while tokens.first == "AND"
      other, tokens = term(tokens.drop(1))
      value &&= other
    end
    [value, tokens]
  end

  def term(tokens)
    if tokens.first == "("
      value, tokens = disjunction(tokens.drop(1))
      raise ArgumentError, "unbalanced parentheses" unless tokens.first == ")"

      return [value, tokens.drop(1)]
    end
    licence, *tokens = tokens
    tokens = tokens.drop(2) if tokens.first == "WITH"
    [ALLOWED.include?(licence), tokens]
  end

  # @return [Array<String>] "name version: licence" of each crate not allowed
  def refused(manifest)
    out, status = Open3.capture2("cargo", "metadata", "--locked", "--format-version", "1",
                                 "--manifest-path", manifest)
    raise "cargo metadata failed for #{manifest}" unless status.success?

    JSON.parse(out).fetch("packages").filter_map do |package|
      licence = package["license"]
      next if licence && acceptable?(licence)

      "#{package["name"]} #{package["version"]}: #{licence || "no licence field"}"
    end
  end
end

desc "Check that every crate in Cargo.lock is under an allowed licence (#{LicenceCheck::ALLOWED.join(", ")})"
task :licenses do
  refused = LicenceCheck.refused("Cargo.toml")
  abort "licenses: not allowed:\n  #{refused.join("\n  ")}" unless refused.empty?
  puts "licenses: every crate in Cargo.lock is under an allowed licence"
end
