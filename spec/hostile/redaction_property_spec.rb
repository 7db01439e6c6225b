# frozen_string_literal: true

# Properties of GazetteRunner::Redaction over generated argvs: no generated
# secret, in any shape the gem promises to hide, survives; ordinary arguments
# come through untouched. `rake fuzz:ruby` runs them longer
# (GAZETTE_PROPERTY_RUNS); the seed is RSpec's, so a failure replays with --seed.
RSpec.describe "redaction properties" do
  let(:runs) { Integer(ENV.fetch("GAZETTE_PROPERTY_RUNS", "400")) }
  let(:random) { Random.new(RSpec.configuration.seed) }

  def pick(list) = list[random.rand(list.size)]

  # A value no rule could mistake for anything else, unique per call.
  def secret
    alphabet = [*"a".."z", *"A".."Z", *"0".."9", "-", "_", ".", "~", "!", "*", "$"]
    "Q#{Array.new(8 + random.rand(16)) { pick(alphabet) }.join}#{random.rand(1 << 30)}"
  end

  # A key that names a secret, spelled as people spell them.
  def secret_key
    word = pick(%w[password passwd token api_key apikey secret key auth access_token client_secret credentials
                   pass pwd private_key session_id signature])
    prefix = pick(["", "db_", "aws_", "x-", "my.", "github_", "app-"])
    styled = pick([:itself.to_proc, :upcase.to_proc, ->(k) { k.gsub(/_(\w)/) { Regexp.last_match(1).upcase } }])
    styled.call("#{prefix}#{word}")
  end

  def host = pick(%w[example.com api.example.org 10.0.0.7:8080 db.internal])

  # [arguments, secret] in one of the promised shapes.
  def shaped(value)
    key = secret_key
    case random.rand(15)
    when 0 then ["--#{key}", value]
    when 1 then ["--#{key}=#{value}"]
    when 2 then ["-#{key}", value]
    when 3 then ["https://#{host}/v1?page=2&#{key}=#{value}"]
    when 4 then ["https://#{host}/v1?#{key}=#{value}#top"]
    when 5 then pick([["-u", "bob:#{value}"], ["-ubob:#{value}"], ["--user=bob:#{value}"], ["--user", "al:#{value}"]])
    when 6 then ["#{pick(%w[https http redis postgres])}://#{pick(["", "bob"])}:#{value}@#{host}/x"]
    when 7 then ["first=https://#{host}/a,second=https://u:#{value}@#{host}/b"]
    when 8 then ["-H", "#{pick(%w[Authorization Proxy-Authorization])}: #{pick(%w[Bearer Basic Token])} #{value}"]
    when 9 then [pick(["-H", "--header"]), "#{pick(%w[X-Api-Key X-Auth-Token Cookie])}: #{value}"]
    when 10 then ["#{key.gsub(/([a-z])([A-Z])/, '\\1_\\2').tr(".-", "__").upcase}=#{value}"] # as variables are named
    when 11 then ["-p#{value}"] # under mysql, below
    when 12 then [%({"#{key}": "#{value}"})]
    when 13 then ["-d", "user=bob&#{key}=#{value}&x=1"]
    else ["--header=Authorization: Bearer #{value}"]
    end
  end

  def ordinary
    pick([["--pages", "#{random.rand(9)}-#{random.rand(99)}"], ["--out", "/tmp/secret/out-#{random.rand(99)}"],
          ["--dpi=#{pick([150, 300])}"], ["-v"], ["/srv/gazettes/#{random.rand(9999)}.pdf"], ["--lang", "fr"],
          ["-u", "script.py"], ["--threads", random.rand(8).to_s], ["page=#{random.rand(9)}"]])
  end

  it "lets no generated secret through, whatever the shape and company" do
    runs.times do
      secrets = []
      args = Array.new(1 + random.rand(6)) do
        next ordinary if random.rand(3).zero?

        value = secret
        secrets << value
        shaped(value)
      end.flatten
      argv = [pick(%w[mysql /usr/bin/mysql]), *args]
      shown = GazetteRunner::Redaction.argv(argv).join("\n")
      expect(secrets.select { |value| shown.include?(value) }).to eq([]), "#{argv.inspect}\n=> #{shown.inspect}"
    end
  end

  it "leaves ordinary arguments alone" do
    runs.times do
      argv = ["python3", "slice_gazette.py", *Array.new(random.rand(8)) { ordinary }.flatten]
      expect(GazetteRunner::Redaction.argv(argv)).to eq(argv)
    end
  end

  it "gives the same answer twice (redacting a redacted argv changes nothing)" do
    runs.times do
      argv = ["curl", *Array.new(1 + random.rand(4)) { shaped(secret) }.flatten]
      once = GazetteRunner::Redaction.argv(argv)
      expect(GazetteRunner::Redaction.argv(once)).to eq(once)
    end
  end
end
