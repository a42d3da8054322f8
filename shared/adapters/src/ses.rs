//! R35's emails through Amazon SES (API v2, `SendEmail`): plain text, the conversation's reply
//! address as `Reply-To`, `In-Reply-To` and `References` as custom headers, and the stack's
//! configuration set, whose events (bounces, complaints) stop later emails.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use aws_sdk_sesv2::Client;

use crate::config::EmailConfig;
use crate::on_demand::OnDemand;
use domain::email::outbound::OutgoingEmail;
use use_cases::error::StoreError;
use use_cases::ports::{MailSender, Mailer};

pub struct SesMailer {
    client: Arc<OnDemand<Client>>,
    sender: MailSender,
    configuration_set: Option<String>,
    /// The domain of the Message-IDs SES writes in this region.
    message_id_domain: String,
}

/// The domain of the `Message-ID` SES writes: `email.amazonses.com` in us-east-1,
/// `{region}.amazonses.com` elsewhere.
pub fn message_id_domain(region: &str) -> String {
    match region {
        "" | "us-east-1" => "email.amazonses.com".into(),
        region => format!("{region}.amazonses.com"),
    }
}

impl SesMailer {
    /// The client is built on first use (most timers send no email).
    pub fn new(sdk: &SdkConfig, config: &EmailConfig) -> Self {
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        let sdk = sdk.clone();
        Self {
            message_id_domain: message_id_domain(&region),
            client: OnDemand::new(move || Client::new(&sdk)),
            sender: MailSender {
                from: config.from.clone(),
                reply_domain: config.reply_domain.clone(),
            },
            configuration_set: config.configuration_set.clone(),
        }
    }
}

fn text(data: &str) -> Result<Content, StoreError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| StoreError::Internal(format!("email content: {e}")))
}

fn header(name: &str, value: &str) -> Result<MessageHeader, StoreError> {
    MessageHeader::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| StoreError::Internal(format!("email header: {e}")))
}

#[async_trait::async_trait]
impl Mailer for SesMailer {
    fn sender(&self) -> Option<&MailSender> {
        Some(&self.sender)
    }

    async fn send(&self, email: &OutgoingEmail) -> Result<Option<String>, StoreError> {
        let mut message = Message::builder()
            .subject(text(&email.subject)?)
            .body(Body::builder().text(text(&email.text)?).build());
        if let Some(parent) = &email.in_reply_to {
            message = message.headers(header("In-Reply-To", parent)?);
        }
        if !email.references.is_empty() {
            message = message.headers(header("References", &email.references.join(" "))?);
        }
        let sent = self
            .client
            .get()
            .send_email()
            .from_email_address(&self.sender.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .reply_to_addresses(&email.reply_to)
            .content(EmailContent::builder().simple(message.build()).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|error| {
                let refused = error.as_service_error().is_some_and(|e| {
                    e.is_message_rejected()
                        || e.is_bad_request_exception()
                        || e.is_not_found_exception()
                        || e.is_mail_from_domain_not_verified_exception()
                });
                if refused {
                    StoreError::Refused(format!("SendEmail: {error:?}"))
                } else {
                    crate::sdk_error(error)
                }
            })?;
        // SES gives its own id; the Message-ID header it writes carries it.
        Ok(sent
            .message_id()
            .map(|id| format!("<{id}@{}>", self.message_id_domain)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ses_message_ids_are_named_by_region() {
        assert_eq!(super::message_id_domain("us-east-1"), "email.amazonses.com");
        assert_eq!(
            super::message_id_domain("eu-west-1"),
            "eu-west-1.amazonses.com"
        );
    }
}
