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
}

impl SesMailer {
    /// The client is built on first use (most timers send no email).
    pub fn new(sdk: &SdkConfig, config: &EmailConfig) -> Self {
        let sdk = sdk.clone();
        Self {
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
            .map_err(crate::sdk_error)?;
        // SES gives its own id; the Message-ID header it writes is `<{id}@email.amazonses.com>`.
        Ok(sent
            .message_id()
            .map(|id| format!("<{id}@email.amazonses.com>")))
    }
}
