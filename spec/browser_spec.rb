# frozen_string_literal: true

require "fileutils"
require "tmpdir"
require "gazette_runner/web"
require_relative "support/redis_server"
require_relative "support/fleet_helpers"
require_relative "support/tiny_http"
require_relative "support/sidekiq_helpers"

# Headless chromium loads the dashboard as a tab of Sidekiq's web UI while a
# worker runs children with a long-job threshold of 1 s (the forced alert).
RSpec.describe "dashboard in a browser", :sidekiq,
               if: RedisServer.available? && system("command -v chromium >/dev/null 2>&1") do
  include FleetHelpers
  include SidekiqHelpers

  let(:chromium_flags) do
    %w[--headless --no-sandbox --disable-gpu --disable-background-networking
       --disable-component-update --disable-sync --no-first-run --window-size=412,2400]
  end
  let(:root) { File.expand_path("..", __dir__) }

  # Runs chromium in a process group of its own with a fresh profile; kills
  # the group if it outlives `within` seconds. Returns its stdout.
  def chromium(*args, within: 40)
    Dir.mktmpdir("gazette-chromium") do |profile|
      out = File.join(profile, "stdout")
      pid = Process.spawn("chromium", *chromium_flags, "--user-data-dir=#{profile}/data", *args,
                          out:, err: File::NULL, in: File::NULL, pgroup: true)
      finished = reap(pid, within)
      signal(:KILL, -pid)
      raise "chromium did not finish within #{within} s" unless finished

      File.read(out)
    end
  end

  it "lists the running children and shows the forced alert" do
    server = RedisServer.new
    Dir.mktmpdir("gazette-browser") do |dir|
      GazetteRunner::Web.register_sidekiq_tab(redis: -> { server.client })
      http = TinyHttp.new(sidekiq_web(server.url, at: "/sidekiq"))
      worker = start_worker(server.url, dir:, host: "browser-host", children: 2, env: { "LONG_JOB" => "1" })
      children = []
      begin
        fired = eventually(within: 10, every: 0.1) do
          view = GazetteRunner::Fleet.view(server.client)
          children = view.children.map { |c| c["pid"] }
          view.children.size == 2 && view.alert_report.first["firing"]
        end
        expect(fired).to be(true)

        FileUtils.mkdir_p(File.join(root, "tmp"))
        screenshot = File.join(root, "tmp", "dashboard.png")
        FileUtils.rm_f(screenshot)
        chromium("--screenshot=#{screenshot}", http.url("/sidekiq/gazette"))
        expect(File.size(screenshot)).to be > 10_000

        dom = chromium("--dump-dom", http.url("/sidekiq/gazette"))
        expect(dom).to include("gazette_runner job health")
        expect(dom.scan('<tr class="child">').size).to eq(2)
        expect(dom).to include("slicing page 1", "slicing page 2", "browser-host")
        expect(dom).to include('data-alert="long_job" data-firing="true"', "FIRING")
        expect(dom).to include('href="/sidekiq/gazette"') # Sidekiq's own nav has the tab
      ensure
        stop_worker(worker, child_pids: children) if worker
        http&.stop
        Sidekiq::Web.tabs.delete("Gazette")
      end
    end
  ensure
    server&.stop
  end
end
