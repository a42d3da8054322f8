//! The local gateway's mailbox (R35): every email the product sends, kept in memory and shown
//! at `/mailbox/`, as a developer's inbox would.

use super::*;
use domain::email::outbound::OutgoingEmail;
use use_cases::ports::{MailSender, Mailer};

/// An email as the mailbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SentEmail {
    pub message_id: String,
    pub from: String,
    pub sent_at: i64,
    #[serde(flatten)]
    pub email: OutgoingEmail,
}

/// Keeps what it is given; with `inner`, sends it there too (the gateway on an emulator keeps a
/// copy of what SES accepted).
pub struct MemoryMailbox {
    sender: MailSender,
    sent: Mutex<Vec<SentEmail>>,
    inner: Option<Arc<dyn Mailer>>,
}

impl MemoryMailbox {
    pub fn new(sender: MailSender, inner: Option<Arc<dyn Mailer>>) -> Self {
        Self {
            sender,
            sent: Mutex::new(Vec::new()),
            inner,
        }
    }

    /// Every email sent, oldest first.
    pub fn sent(&self) -> Vec<SentEmail> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Mailer for MemoryMailbox {
    fn sender(&self) -> Option<&MailSender> {
        Some(&self.sender)
    }

    async fn send(&self, email: &OutgoingEmail) -> Result<Option<String>, StoreError> {
        let provider_id = match &self.inner {
            Some(inner) => inner.send(email).await?,
            None => None,
        };
        let message_id = provider_id
            .unwrap_or_else(|| format!("<{}@{}>", new_id("mail"), self.sender.reply_domain));
        self.sent
            .lock()
            .map_err(|_| StoreError::Internal("mailbox lock poisoned".into()))?
            .push(SentEmail {
                message_id: message_id.clone(),
                from: self.sender.from.clone(),
                sent_at: domain::now_ms(),
                email: email.clone(),
            });
        Ok(Some(message_id))
    }
}
