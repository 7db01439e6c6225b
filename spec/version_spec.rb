# frozen_string_literal: true

RSpec.describe "the version" do
  root = File.expand_path("..", __dir__)
  crate_version = lambda do |manifest|
    File.read(File.join(root, manifest))[/^\[package\][^\[]*?^version\s*=\s*"([^"]+)"/m, 1]
  end

  it "is a semantic version" do
    expect(GazetteRunner::VERSION).to match(/\A\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?\z/)
  end

  it "is the version of both crates" do
    expect([crate_version["Cargo.toml"], crate_version["ext/gazette_runner/Cargo.toml"]])
      .to eq([GazetteRunner::VERSION] * 2)
  end

  it "has a section in CHANGELOG.md" do
    expect(File.read(File.join(root, "CHANGELOG.md"))).to include("## [#{GazetteRunner::VERSION}]")
  end
end
