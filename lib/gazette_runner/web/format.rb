# frozen_string_literal: true

require "cgi"

module GazetteRunner
  class Web
    # How the page writes numbers, for a human in a hurry.
    module Format
      module_function

      # @param text [Object]
      # @return [String] HTML-escaped
      def h(text) = CGI.escapeHTML(text.to_s)

      # @param text [Object] text that came from Redis (a host, an argv, a message)
      # @return [String] cut to {Caps::PAGE_TEXT} bytes, HTML-escaped
      def text(text) = h(Caps.cut(text, Caps::PAGE_TEXT))

      # @param seconds [Numeric, nil]
      # @return [String] e.g. "850 ms", "4.2 s", "3m 20s", "1h 02m"; "–" for nil
      def duration(seconds)
        return "–" if seconds.nil?
        return "#{(seconds * 1000).round} ms" if seconds < 1
        return "#{seconds.round(1)} s" if seconds < 60

        seconds = seconds.round
        return format("%<m>dm %<s>02ds", m: seconds / 60, s: seconds % 60) if seconds < 3600

        format("%<h>dh %<m>02dm", h: seconds / 3600, m: seconds % 3600 / 60)
      end

      # @param bytes [Integer, nil]
      # @return [String] e.g. "512 MB", "1.20 GB"; "–" for nil
      def bytes(bytes)
        return "–" if bytes.nil?
        return "#{(bytes / 1024.0).round} KB" if bytes < 1024**2
        return "#{(bytes / (1024.0**2)).round} MB" if bytes < 1024**3

        format("%.2f GB", bytes / (1024.0**3))
      end

      # @param ratio [Float, nil]
      # @return [String] e.g. "97.5%"; "–" for nil
      def percent(ratio) = ratio.nil? ? "–" : "#{(ratio * 100).round(1)}%"

      # @param unix [Numeric, nil]
      # @return [String] UTC, e.g. "2025-09-16 00:10:25 UTC"; "–" for nil
      def time(unix) = unix.nil? ? "–" : Time.at(unix).utc.strftime("%Y-%m-%d %H:%M:%S UTC")

      # @param name [String] an alert name
      # @param value [Numeric, nil]
      # @return [String] the value in the alert's unit
      def alert_value(name, value)
        case name
        when "long_job" then duration(value)
        when "worker_memory" then bytes(value)
        when "success_rate" then percent(value)
        else value.nil? ? "–" : value.to_s
        end
      end
    end
  end
end
