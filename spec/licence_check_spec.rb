# frozen_string_literal: true

require "rake"

RSpec.describe "the licence check (rake licenses)" do
  before(:all) do
    Rake.application = Rake::Application.new
    load File.expand_path("../rakelib/licenses.rake", __dir__)
  end

  it "accepts an expression that allowed licences alone can satisfy" do
    ["MIT", "MIT/Apache-2.0", "MIT OR Apache-2.0 OR LGPL-2.1-or-later", "(MIT OR Apache-2.0) AND Unicode-3.0",
     "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"].each do |expression|
      expect(LicenceCheck.acceptable?(expression)).to be(true), expression
    end
  end

  it "refuses one that needs a licence not on the list" do
    ["GPL-3.0-only", "LGPL-2.1-or-later", "(MIT OR Apache-2.0) AND GPL-2.0-only"].each do |expression|
      expect(LicenceCheck.acceptable?(expression)).to be(false), expression
    end
  end

  it "finds nothing to refuse in this project's Cargo.lock" do
    expect(LicenceCheck.refused(File.expand_path("../Cargo.toml", __dir__))).to eq([])
  end
end
