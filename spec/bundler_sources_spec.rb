# frozen_string_literal: true

require "fileutils"
require "rbconfig"
require "tmpdir"

# The gem from a Gemfile, as docs/install.md shows it: a `git:` source (which
# Bundler checks out and builds the extension of, with cargo) and a `path:`
# source on a fresh checkout (which Bundler does not build). The source is a
# git repository made from this working tree. `bundle install --local` runs
# with a proxy that refuses every connection, so anything it fetched from
# rubygems.org would fail the install.
RSpec.describe "the gem from a Gemfile", :packaging do
  root = File.expand_path("..", __dir__)
  # Kept between runs (under tmp/, ignored): the first git install compiles
  # every crate (minutes), later ones only the gem's two.
  cargo_target = File.join(root, "tmp/cargo-bundler")
  probe = 'require "gazette_runner"; p GazetteRunner.run(["echo", "hi"], timeout: 5).stdout; ' \
          "puts $LOADED_FEATURES.grep(%r{/gazette_runner\\.so\\z})"

  before(:all) do
    FileUtils.mkdir_p(File.join(root, "tmp"))
    @scratch = Dir.mktmpdir("bundler-sources-", File.join(root, "tmp"))
    @source = File.join(@scratch, "gazette_runner")
    # The working tree as it is (tracked and untracked files, not ignored ones: no .so, no target/).
    files = IO.popen(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], &:read)
    files.split("\0").each do |file|
      next unless File.file?(File.join(root, file))

      FileUtils.mkdir_p(File.join(@source, File.dirname(file)))
      FileUtils.cp(File.join(root, file), File.join(@source, file))
    end
    git = ["git", "-c", "user.name=spec", "-c", "user.email=spec@localhost", "-C", @source]
    [%w[init -q -b main], %w[add -A], %w[commit -q -m snapshot]].each do |args|
      system(*git, *args, out: File::NULL, exception: true)
    end
  end

  after(:all) { FileUtils.rm_rf(@scratch) if @scratch }

  # A proxy nothing listens on: any connection attempt fails at once.
  def unreachable = "http://127.0.0.1:9"

  # A Gemfile of its own, its own Bundler settings and bundle path, no proxy
  # that works, and nothing of this process's Ruby setup.
  def app_with(gemfile)
    app = Dir.mktmpdir("app-", @scratch)
    File.write(File.join(app, "Gemfile"), gemfile)
    env = {
      "BUNDLE_GEMFILE" => File.join(app, "Gemfile"), "BUNDLE_APP_CONFIG" => File.join(app, ".bundle"),
      "BUNDLE_PATH" => File.join(app, "bundle"), "BUNDLE_USER_HOME" => File.join(app, "home"),
      "https_proxy" => unreachable, "http_proxy" => unreachable, "HTTPS_PROXY" => unreachable,
      "HTTP_PROXY" => unreachable, "RUBYOPT" => nil, "RUBYLIB" => nil, "GEM_HOME" => nil, "GEM_PATH" => nil,
      "BUNDLE_BIN_PATH" => nil, "BUNDLER_SETUP" => nil, "BUNDLER_VERSION" => nil
    }
    [app, env]
  end

  def run_in(app, env, *cmd, timeout: 120)
    log = File.join(app, "command.log")
    pid = Process.spawn(env, *cmd, chdir: app, in: File::NULL, out: log, err: %i[child out], pgroup: true)
    status = eventually(within: timeout, every: 0.2) { Process.wait2(pid, Process::WNOHANG)&.last }
    unless status
      kill_group(pid)
      Process.wait(pid)
      raise "#{cmd.join(" ")} still running after #{timeout} s:\n#{File.read(log)}"
    end
    [status, File.read(log)]
  end

  it "installs from a git: source with `bundle install --local`, building the extension with cargo" do
    app, env = app_with(<<~GEMFILE)
      source "https://rubygems.org"
      gem "gazette_runner", git: "file://#{@source}", branch: "main"
    GEMFILE
    env = env.merge("CARGO_TARGET_DIR" => cargo_target)

    status, output = run_in(app, env, RbConfig.ruby, "-S", "bundle", "install", "--local", timeout: 1500)
    expect(status).to be_success, output
    status, output = run_in(app, env, RbConfig.ruby, "-S", "bundle", "exec", "ruby", "-e", probe)
    expect(status).to be_success, output
    expect(output.lines.first).to eq("\"hi\\n\"\n")
    expect(output.lines.last).to start_with(File.join(app, "bundle"))
  end

  it "fails to load from a fresh checkout as a path: gem, saying which command builds it" do
    app, env = app_with(%(gem "gazette_runner", path: #{@source.dump}\n))

    status, output = run_in(app, env, RbConfig.ruby, "-S", "bundle", "install", "--local")
    expect(status).to be_success, output
    status, output = run_in(app, env, RbConfig.ruby, "-S", "bundle", "exec", "ruby", "-e", probe)
    expect(status).not_to be_success
    expect(output).to include("gazette_runner's native extension is not built: " \
                              "#{@source}/lib/gazette_runner/gazette_runner.so is missing",
                              "run `rake compile` in #{@source} once")
  end
end
