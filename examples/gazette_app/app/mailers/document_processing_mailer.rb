# frozen_string_literal: true

# Tells the user how the processing of their document went, whatever happened.
class DocumentProcessingMailer < ActionMailer::Base
  default from: "gazettes@example.test"

  # status: "success" or "error".
  def document_processing_complete(user, document, status)
    subject = if status == "success"
                "Your gazette #{document.title} is ready (#{document.page_count} pages)"
              else
                "We could not process your gazette #{document.title}"
              end
    body = <<~TEXT
      #{document.description}
      Status: #{status}#{" (#{document.error_kind})" if document.error_kind}
      #{document.link}
    TEXT
    mail(to: user.email, subject:, body:, content_type: "text/plain")
  end
end
