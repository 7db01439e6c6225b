# frozen_string_literal: true

require "pathname"
require "rbs"
# The optional parts (fleet, dashboard, Sidekiq integration) load no gem of
# their own, so their signatures are checked too.
require "gazette_runner/web"
require "gazette_runner/web/estimates"
require "gazette_runner/sidekiq"
require "gazette_runner/testing/rspec"
# The Rails integration needs Rails (Debian's railties) to be defined.
require "rails"
require "gazette_runner/railtie"
require "generators/gazette_runner/install/install_generator"

# Reads sig/ with the rbs library (the same environment `rake docs:rbs`
# validates) and answers, per class or module, what it declares, for comparison
# with what lib/ really defines at run time.
module SignatureInventory
  SIG_DIR = Pathname(File.expand_path("../sig", __dir__))
  # Standard libraries sig/ refers to (Timeout::Error); `rake docs:rbs` passes
  # the same ones to `rbs validate` as `-r`.
  LIBRARIES = %w[timeout].freeze
  ROOT = "GazetteRunner"

  module_function

  def builder
    @builder ||= begin
      loader = RBS::EnvironmentLoader.new
      LIBRARIES.each { |library| loader.add(library:) }
      loader.add(path: SIG_DIR)
      RBS::DefinitionBuilder.new(env: RBS::Environment.from_loader(loader).resolve_type_names)
    end
  end

  # Every class and module sig/ declares under GazetteRunner, by name.
  def declared_modules
    builder.env.class_decls.keys.map { |type_name| type_name.to_s.delete_prefix("::") }
           .select { |name| name == ROOT || name.start_with?("#{ROOT}::") }
  end

  # Public instance methods declared in the class or module itself (not
  # inherited or included). `def self?.name` (a `module_function`) is public on
  # the module but private on instances, as in Ruby; rbs 2.x calls both public.
  def declared_instance_methods(name)
    own_public_methods(name, :build_instance)
      .reject { |_, method| method.defs.all? { |d| method_definition?(d.member, kind: :singleton_instance) } }
      .keys
  end

  # Public singleton methods declared in the class or module itself, without
  # the `new` that rbs derives from every class's `initialize` (Ruby defines no
  # `new` of its own there; an explicit `def self.new` is kept).
  def declared_singleton_methods(name)
    own_public_methods(name, :build_singleton)
      .reject { |method_name, method| method_name == :new && method.defs.all? { |d| initialize?(d.member) } }
      .keys
  end

  # Constants (other than classes and modules) declared directly in it.
  def declared_constants(name)
    builder.env.constant_decls.keys
           .select { |type_name| type_name.namespace == namespace(name) }
           .map(&:name)
  end

  def own_public_methods(name, build)
    type_name = namespace(name).to_type_name
    return {} unless builder.env.class_decls.key?(type_name)

    builder.public_send(build, type_name).methods
           .select { |_, method| method.defined_in == type_name && method.public? }
  end

  def namespace(name) = RBS::Namespace.parse("::#{name}::")

  def method_definition?(member, kind:)
    member.is_a?(RBS::AST::Members::MethodDefinition) && member.kind == kind
  end

  def initialize?(member) = member.is_a?(RBS::AST::Members::MethodDefinition) && member.name == :initialize

  # GazetteRunner and every class and module named under it, as loaded.
  def runtime_modules(mod = Object.const_get(ROOT), found = [])
    found << mod
    mod.constants(false).each do |name|
      value = mod.const_get(name, false)
      runtime_modules(value, found) if value.is_a?(Module) && value.name == "#{mod.name}::#{name}"
    end
    found
  end

  def runtime_constants(mod)
    mod.constants(false).reject { |name| mod.const_get(name, false).is_a?(Module) }
  end

  # What a lib/ and sig/ pair disagree on; both lists empty when they agree.
  def difference(runtime, declared)
    {
      "public in lib/ but not declared in sig/" => (runtime.map(&:to_sym) - declared.map(&:to_sym)).sort,
      "declared in sig/ but not public in lib/" => (declared.map(&:to_sym) - runtime.map(&:to_sym)).sort
    }
  end
end

RSpec.describe "RBS signatures in sig/" do
  agreement = {
    "public in lib/ but not declared in sig/" => [],
    "declared in sig/ but not public in lib/" => []
  }

  it "declares every class and module of lib/, and no other" do
    runtime = SignatureInventory.runtime_modules.map(&:name)
    expect(SignatureInventory.difference(runtime, SignatureInventory.declared_modules)).to eq(agreement)
  end

  SignatureInventory.runtime_modules.each do |mod|
    describe mod.name do
      it "declares exactly its public instance methods" do
        declared = SignatureInventory.declared_instance_methods(mod.name)
        expect(SignatureInventory.difference(mod.public_instance_methods(false), declared)).to eq(agreement)
      end

      it "declares exactly its public singleton methods" do
        # Its own (false), not those inherited from a superclass's singleton
        # class (Exception.exception, Timeout::Error.catch, ...).
        runtime = mod.singleton_class.public_instance_methods(false)
        declared = SignatureInventory.declared_singleton_methods(mod.name)
        expect(SignatureInventory.difference(runtime, declared)).to eq(agreement)
      end

      it "declares exactly its constants" do
        declared = SignatureInventory.declared_constants(mod.name)
        expect(SignatureInventory.difference(SignatureInventory.runtime_constants(mod), declared)).to eq(agreement)
      end
    end
  end
end
