# frozen_string_literal: true

require "spec_helper"
require "gazette_runner/fleet"

# Every numeric setting of the public API, given hostile values: each call
# either behaves normally or raises ArgumentError/TypeError before anything
# is spawned — never `fatal` (which `rescue Exception` cannot even catch, so
# it would end this process), never a program left running.
module HostileSettings
  HOSTILE = [0, -0.0, 1e-300, 1e19, 2**70, -1, Float::NAN, Float::INFINITY, -Float::INFINITY,
             Rational(1, 3), "5", nil, Complex(1, 1)].freeze

  # Each setting, and how to use it so that a wrong value would matter.
  SETTINGS = {
    timeout: ->(v) { GazetteRunner.run(["true"], timeout: v) },
    kill_after: ->(v) { GazetteRunner.run(["true"], timeout: 5, kill_after: v) },
    max_output: ->(v) { GazetteRunner.run(%w[echo hi], max_output: v) },
    memory_limit: ->(v) { GazetteRunner.run(["true"], memory_limit: v) },
    cpu_limit: ->(v) { GazetteRunner.run(["true"], cpu_limit: v) },
    retries: ->(v) { GazetteRunner.run(["true"], retries: v, backoff: 0) },
    backoff: ->(v) { GazetteRunner::RetryPolicy.new(retries: 1, backoff: v) },
    max_backoff: ->(v) { GazetteRunner::RetryPolicy.new(retries: 1, max_backoff: v) },
    threshold: lambda { |v|
      breaker = GazetteRunner::CircuitBreaker.new("hostile-threshold", threshold: v).reset
      GazetteRunner.run(["false"], breaker:)
    },
    cool_off: lambda { |v|
      breaker = GazetteRunner::CircuitBreaker.new("hostile-cool-off", threshold: 1, cool_off: v).reset
      GazetteRunner.run(["false"], breaker:)
      begin
        GazetteRunner.run(["true"], breaker:)
      rescue GazetteRunner::CircuitOpenError
        :open # the breaker opened: what it is for
      end
    },
    deadline: ->(v) { GazetteRunner.run(["true"], deadline: GazetteRunner::Deadline.in(v)) },
    within: ->(v) { GazetteRunner.within(v) { GazetteRunner.run(["true"]) } },
    default_timeout: lambda { |v|
      previous = GazetteRunner.default_timeout
      begin
        GazetteRunner.default_timeout = v
      ensure
        GazetteRunner.default_timeout = previous
      end
    },
    fleet_interval: ->(v) { GazetteRunner::Fleet::Config.new(interval: v) },
    fleet_ttl: ->(v) { GazetteRunner::Fleet::Config.new(ttl: v) },
    fleet_long_job_seconds: ->(v) { GazetteRunner::Fleet::Config.new(long_job_seconds: v) },
    fleet_worker_rss_bytes: ->(v) { GazetteRunner::Fleet::Config.new(worker_rss_bytes: v) },
    fleet_alert_window: ->(v) { GazetteRunner::Fleet::Config.new(alert_window: v) },
    fleet_success_rate: ->(v) { GazetteRunner::Fleet::Config.new(success_rate: v) },
    fleet_dead_jobs: ->(v) { GazetteRunner::Fleet::Config.new(dead_jobs: v) },
    fleet_argv_shown: ->(v) { GazetteRunner::Fleet::Config.new(argv_shown: v) }
  }.freeze
end

RSpec.describe "hostile numeric settings", :gc_stress do
  def own_live_children = proc_table.select { |e| e.ppid == Process.pid && live?(e) }.map(&:pid)

  HostileSettings::SETTINGS.each do |name, use|
    it "#{name}: a normal answer or ArgumentError/TypeError, for every hostile value" do
      HostileSettings::HOSTILE.each do |value|
        outcome = begin
          use.call(value)
          :accepted
        rescue ArgumentError, TypeError => e
          expect(e.message).not_to be_empty
          :refused
        rescue GazetteRunner::Error => e
          e.class # a run's own failure (exit 1 under a breaker): normal behaviour
        end
        expect(%i[accepted refused]).to include(outcome).or(satisfy { outcome.is_a?(Class) })
        expect(own_live_children).to be_empty, "#{name}: #{value.inspect} left a program running"
      end
    end
  end

  it "refuses what would overflow the clock, before spawning" do
    expect { GazetteRunner.run(sh("echo started >&2; sleep 5"), timeout: 1e19) }
      .to raise_error(ArgumentError, /timeout must be a number of seconds from 0.001 to 31622400/)
    expect { GazetteRunner.run(["true"], timeout: 1e-300) }.to raise_error(ArgumentError, /timeout/)
    expect { GazetteRunner::CircuitBreaker.new("x", cool_off: 1e19) }.to raise_error(ArgumentError, /cool_off/)
  end

  it "takes a year as the longest bound" do
    year = GazetteRunner::Options::YEAR
    result = GazetteRunner.run(["true"], timeout: year, kill_after: year)
    expect(result).to be_success
  end
end
