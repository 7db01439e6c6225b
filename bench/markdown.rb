# frozen_string_literal: true

module Bench
  # Markdown output, padded so that it also reads well on a terminal.
  module Markdown
    module_function

    NUMERIC = /\A(-|[-\d.]+(×|\z| ))/

    # Columns whose cells all start with a number are right-aligned, the others left-aligned.
    def table(headers, rows)
      cells = [headers, *rows].map { |row| row.map(&:to_s) }
      widths = cells.transpose.map { |column| column.map(&:length).max }
      right = numeric_columns(cells.drop(1))
      [cells.first, rule(widths, right), *cells.drop(1)].map { |row| line(row, widths, right) }.join("\n")
    end

    def numeric_columns(rows)
      rows.transpose.map { |column| column.all? { |cell| cell.match?(NUMERIC) } }
    end

    def rule(widths, right)
      widths.zip(right).map { |width, r| r ? "#{"-" * (width - 1)}:" : "-" * width }
    end

    def line(row, widths, right)
      padded = row.each_with_index.map { |cell, i| right[i] ? cell.rjust(widths[i]) : cell.ljust(widths[i]) }
      "| #{padded.join(" | ")} |"
    end

    # @return [String] "-" for a missing value, else the number with `digits` decimals
    def number(value, digits = 0)
      return "-" if value.nil?

      format("%.#{digits}f", value)
    end

    # A code span; one that contains a backtick needs a double-backtick fence.
    def code(text)
      text.include?("`") ? "`` #{text} ``" : "`#{text}`"
    end

    def ratio(value)
      return "-" if value.nil? || !value.finite?

      format(value < 0.1 ? "%.3f×" : "%.2f×", value)
    end

    # The "met" cell: the verdict first, then the numbers it rests on.
    def verdict(met, detail)
      "#{met ? "yes" : "**NO**"} (#{detail})"
    end

    def micros(seconds) = number(seconds && (seconds * 1e6))
    def millis(seconds, digits = 1) = number(seconds && (seconds * 1e3), digits)
    def mib(bytes, digits = 1) = number(bytes && (bytes.to_f / MIB), digits)
  end
end
