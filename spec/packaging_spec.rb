# frozen_string_literal: true

require "fileutils"
require "rbconfig"
require "rubygems/package"
require "tmpdir"

# Builds and installs the real gem, so it needs cargo and a populated cargo
# registry (or crates.io). Everything it writes lives under the repo's tmp/.
RSpec.describe "gem packaging", :packaging do
  root = File.expand_path("..", __dir__)
  install_timeout = 600

  # Children must see neither this repo's lib nor any Bundler setup of ours.
  clean_env = {
    "RUBYOPT" => nil, "RUBYLIB" => nil, "GEM_HOME" => nil, "GEM_PATH" => nil,
    "BUNDLE_GEMFILE" => nil, "BUNDLE_BIN_PATH" => nil, "BUNDLER_SETUP" => nil,
    "BUNDLER_VERSION" => nil
  }.freeze
  probe = 'require "gazette_runner"; p GazetteRunner.run(["echo", "hi"]).stdout; ' \
          "puts $LOADED_FEATURES.grep(%r{/gazette_runner\\.so\\z})"

  # Runs cmd with output to a log file (a pipe could fill and stall it) and
  # kills its whole process group if it outlives the timeout.
  def run_bounded(env, *cmd, chdir:, timeout: 120)
    log = File.join(@scratch, "cmd-#{Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)}.log")
    pid = Process.spawn(env, *cmd, chdir:, in: File::NULL, out: log, err: %i[child out], pgroup: true)
    status = wait_or_kill(pid, timeout)
    raise "timed out after #{timeout}s: #{cmd.join(" ")}\n#{File.read(log)}" unless status

    [File.read(log), status]
  end

  def wait_or_kill(pid, timeout)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
      _, status = Process.wait2(pid, Process::WNOHANG)
      return status if status

      sleep 0.2
    end
    Process.kill("KILL", -pid)
    Process.wait(pid)
    nil
  end

  def run_ok(env, *cmd, **opts)
    output, status = run_bounded(env, *cmd, **opts)
    expect(status).to be_success, "#{cmd.join(" ")} failed (#{status.inspect}):\n#{output}"
    output
  end

  before(:all) do
    FileUtils.mkdir_p(File.join(root, "tmp"))
    @scratch = Dir.mktmpdir("packaging-", File.join(root, "tmp"))
    gemspec = File.join(root, "gazette_runner.gemspec")
    @gem_file = File.join(@scratch, "gazette_runner.gem")
    run_ok(clean_env, RbConfig.ruby, "-S", "gem", "build", gemspec, "--output", @gem_file, chdir: root)
  end

  after(:all) { FileUtils.rm_rf(@scratch) if @scratch }

  it "packs the runtime and build inputs, and no build output or tests" do
    files = Gem::Package.new(@gem_file).spec.files

    expect(files).to include("lib/gazette_runner.rb", "Cargo.lock", "Cargo.toml",
                             "ext/gazette_runner/extconf.rb", "ext/gazette_runner/Cargo.toml")
    expect(files.grep(%r{\A(target|tmp|spec|bench|pkg)/|/target/|\.so\z})).to eq([])
  end

  it "compiles on gem install and runs from the installed gem alone" do
    home = File.join(@scratch, "gemhome")
    run_ok(clean_env, RbConfig.ruby, "-S", "gem", "install", "--local", "--install-dir", home,
           "--no-document", @gem_file, chdir: @scratch, timeout: install_timeout)

    gem_dir = Dir.glob(File.join(home, "gems", "gazette_runner-*")).first
    size = Dir.glob("#{gem_dir}/**/*", File::FNM_DOTMATCH).select { |f| File.file?(f) }.sum { |f| File.size(f) }
    expect(size).to be < 10 * 1024 * 1024
    expect(Dir.glob("#{gem_dir}/**/gazette_runner.so")).not_to be_empty
    expect(File).not_to exist(File.join(gem_dir, "ext", "gazette_runner", "target"))

    env = clean_env.merge("GEM_HOME" => home, "GEM_PATH" => home)
    output = run_ok(env, RbConfig.ruby, "-e", probe, chdir: "/")
    expect(output.lines.first).to eq("\"hi\\n\"\n")
    expect(output.lines.drop(1).join).to start_with(home)
  end

  it "loads as a Bundler path gem once `rake compile` has built the extension" do
    expect(File).to exist(File.join(root, "lib/gazette_runner/gazette_runner.so")), "run `rake compile` first"
    app = File.join(@scratch, "app")
    FileUtils.mkdir_p(app)
    File.write(File.join(app, "Gemfile"), "gem \"gazette_runner\", path: #{root.dump}\n")
    env = clean_env.merge("BUNDLE_GEMFILE" => File.join(app, "Gemfile"),
                          "BUNDLE_APP_CONFIG" => File.join(app, ".bundle"),
                          "BUNDLE_USER_HOME" => File.join(@scratch, "bundle-home"))

    run_ok(env, RbConfig.ruby, "-S", "bundle", "install", "--local", chdir: app)
    output = run_ok(env, RbConfig.ruby, "-S", "bundle", "exec", "ruby", "-e", probe, chdir: app)
    expect(output).to include("\"hi\\n\"\n", "#{root}/lib/gazette_runner/gazette_runner.so")
  end
end
