# frozen_string_literal: true

module GazetteRunner
  module Redaction
    # One argv walked argument by argument: the flag-aware half of
    # {Redaction.argv} (a secret flag hides the next argument or its glued or
    # `=` value); everything else goes through {Redaction.text}.
    # @api private
    class Arguments
      FLAG = /\A(--?)([A-Za-z][\w.-]*)(?:=(.*))?\z/m
      SHORT = /\A-[A-Za-z]/
      private_constant :FLAG, :SHORT

      # @param argv [Array<String>]
      # @param settings [Settings]
      def initialize(argv, settings)
        @argv = argv
        @flags = settings.flags + PROGRAM_FLAGS.fetch(File.basename(argv.first.to_s), [])
      end

      # @return [Array<String>] frozen, every element frozen
      def shown
        hide_next = false
        @argv.each_with_index.map do |arg, i|
          shown = if hide_next then value(@argv[i - 1], arg)
                  elsif i.zero? then Redaction.text(arg)
                  else
                    argument(arg)
                  end
          hide_next = i.positive? && !hide_next && takes_secret?(arg)
          shown.freeze
        end.freeze
      end

      private

      # True when the argument is a flag whose value, the next argument, is secret.
      def takes_secret?(arg)
        return true if @flags.include?(arg) || USER_FLAGS.include?(arg)

        flag = arg.match(FLAG)
        flag && flag[3].nil? && Redaction.secret_key?(flag[2])
      end

      # What a secret flag's value becomes. `-u` is also Python's
      # "unbuffered": only a `user:password` value is a secret there.
      def value(flag, value)
        return REDACTED unless USER_FLAGS.include?(flag)

        value.include?(":") ? "#{value[/\A[^:]*/]}:#{REDACTED}" : Redaction.text(value)
      end

      def argument(arg)
        glued = arg.match?(SHORT) && glued(arg)
        return glued if glued

        flag = arg.match(FLAG)
        flag ? flag_argument(arg, *flag.captures) : Redaction.text(arg)
      end

      def flag_argument(arg, dashes, name, given)
        return arg unless given

        flag = "#{dashes}#{name}"
        shown = if @flags.include?(flag) || USER_FLAGS.include?(flag) then value(flag, given)
                elsif Redaction.secret_key?(name) then REDACTED
                else
                  Redaction.text(given)
                end
        "#{flag}=#{shown}"
      end

      # `-pSECRET` for a secret short flag `-p`; `-uuser:pass` for `-u`.
      def glued(arg)
        short = arg[0, 2]
        return if arg.size <= 2
        return "#{short}#{REDACTED}" if @flags.include?(short)

        "#{short}#{value(short, arg[2..])}" if USER_FLAGS.include?(short) && arg.include?(":")
      end
    end
  end
end
