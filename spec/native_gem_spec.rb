# frozen_string_literal: true

require "fileutils"
require "rbconfig"
require "rubygems/package"
require "tmpdir"

# `rake native`'s platform gem, installed where there is no Rust: a clean
# GEM_HOME, a PATH without cargo or rustc, no libclang to be found, another
# working directory. Packs the .so that `rake compile` built.
RSpec.describe "the precompiled platform gem (rake native)", :packaging do
  root = File.expand_path("..", __dir__)
  # /usr/bin holds ruby and gem; rustup's cargo lives in ~/.cargo/bin.
  no_rust_path = "/usr/local/bin:/usr/bin:/bin"
  clean_env = {
    "PATH" => no_rust_path, "LIBCLANG_PATH" => "/nonexistent", "CARGO_HOME" => "/nonexistent",
    "RUSTUP_HOME" => "/nonexistent", "RUBYOPT" => nil, "RUBYLIB" => nil, "GEM_HOME" => nil, "GEM_PATH" => nil,
    "BUNDLE_GEMFILE" => nil, "BUNDLE_BIN_PATH" => nil, "BUNDLER_SETUP" => nil, "BUNDLER_VERSION" => nil
  }.freeze

  before(:all) do
    so = File.join(root, "lib/gazette_runner/gazette_runner.so")
    raise "#{so} is missing: run `rake compile` first" unless File.exist?(so)

    FileUtils.mkdir_p(File.join(root, "tmp"))
    @scratch = Dir.mktmpdir("native-gem-", File.join(root, "tmp"))
    status, out, err = run_ruby_child(<<~RUBY, within: 120)
      load #{File.join(root, "rakelib/native_gem.rb").dump}
      $stderr.puts NativeGem.build(#{@scratch.dump})
    RUBY
    raise "NativeGem.build failed (#{status.inspect}):\n#{out}#{err}" unless status.success?

    @gem_file = err.lines.last.chomp
    @spec = Gem::Package.new(@gem_file).spec
  end

  after(:all) { FileUtils.rm_rf(@scratch) if @scratch }

  def run_in(env, *cmd, chdir:)
    log = File.join(@scratch, "command.log")
    pid = Process.spawn(rustless_env.merge(env), *cmd, chdir:, in: File::NULL, out: log, err: %i[child out])
    status = bounded_wait(pid, 120)
    [status, File.read(log)]
  end

  let(:rustless_env) { clean_env }

  it "is named for this platform and holds the .so for this Ruby's ABI, with no build step" do
    abi = RbConfig::CONFIG.fetch("ruby_version")[/\A\d+\.\d+/]
    expect(File.basename(@gem_file)).to eq("gazette_runner-#{GazetteRunner::VERSION}-x86_64-linux.gem")
    expect(@spec.platform.to_s).to eq("x86_64-linux")
    expect(@spec.extensions).to eq([])
    expect(@spec.required_ruby_version.to_s).to eq(">= #{abi}, < #{abi.succ}.dev")
    expect(@spec.required_ruby_version).to be_satisfied_by(Gem::Version.new(RUBY_VERSION))
    expect(@spec.required_ruby_version).not_to be_satisfied_by(Gem::Version.new("#{abi.succ}.0"))
    expect(@spec.files).to include("lib/gazette_runner.rb", "lib/gazette_runner/gazette_runner.so")
    expect(@spec.files.grep(%r{\A(src|ext|target|spec)/|Cargo})).to eq([])
  end

  it "installs into a clean GEM_HOME with no Rust on the machine, and runs a program" do
    _, found = run_in({}, "sh", "-c", "command -v cargo rustc clang; exit 0", chdir: @scratch)
    expect(found).to eq("")

    home = File.join(@scratch, "gemhome")
    elsewhere = File.join(@scratch, "elsewhere")
    FileUtils.mkdir_p(elsewhere)
    status, output = run_in({}, RbConfig.ruby, "-S", "gem", "install", "--local", "--install-dir", home,
                            "--no-document", @gem_file, chdir: elsewhere)
    expect(status).to be_success, output
    expect(output).not_to include("Building native extensions")

    probe = 'require "gazette_runner"; p GazetteRunner.run(["echo", "hi"], timeout: 5).stdout; ' \
            "puts $LOADED_FEATURES.grep(%r{/gazette_runner\\.so\\z})"
    status, output = run_in({ "GEM_HOME" => home, "GEM_PATH" => home }, RbConfig.ruby, "-e", probe, chdir: "/")
    expect(status).to be_success, output
    expect(output.lines.first).to eq("\"hi\\n\"\n")
    expect(output.lines.last).to start_with(File.join(home, "gems",
                                                      "gazette_runner-#{GazetteRunner::VERSION}-x86_64-linux"))
  end
end
