//! The email of unread replies (R35): when one is due, which replies it carries, and what it
//! says. An agent's reply schedules an [`EmailFollowup`]; when it comes back (after
//! `messaging.email_followup_minutes`), [`unread_replies`] names the replies the end user has
//! neither read nor been emailed, and [`compose`] writes one email with all of them, in the
//! conversation's language, threaded on the emails before it.

use serde::{Deserialize, Serialize};

use crate::locale::Locale;
use crate::model::{AuthorRole, Message, MessageKind};

/// The check an agent's reply schedules (a timer on the routing queue, like the idle check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailFollowup {
    pub account_id: String,
    pub conversation_id: String,
    /// The agent's reply the wait counts from.
    pub reply_seq: u64,
    pub reply_at: i64,
}

impl EmailFollowup {
    /// The check an agent's `message` schedules, if it is one the end user reads.
    pub fn after(message: &Message) -> Option<Self> {
        is_emailed(message).then(|| Self {
            account_id: message.account_id.clone(),
            conversation_id: message.conversation_id.clone(),
            reply_seq: message.seq,
            reply_at: message.created_at,
        })
    }
}

/// Whether `message` is an agent's reply the end user sees (never an internal note).
pub fn is_emailed(message: &Message) -> bool {
    message.author_role == AuthorRole::Agent
        && matches!(
            message.kind,
            MessageKind::Text | MessageKind::Rich | MessageKind::Attachment
        )
        && message.redacted.is_none()
}

/// What was emailed of a conversation so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailThread {
    pub account_id: String,
    pub conversation_id: String,
    /// Every reply up to this seq was emailed (or read before its email was due).
    pub emailed_through_seq: u64,
    /// The provider's Message-IDs of the emails sent, oldest first (the last few), for
    /// `In-Reply-To` and `References`.
    pub message_ids: Vec<String>,
    /// A check sending an email of the replies through this seq, since `claimed_at`: other
    /// checks wait for it ([`CLAIM_LEASE_MS`]), or take over once the lease ran out (a check
    /// that died half way).
    #[serde(default)]
    pub claimed_through_seq: Option<u64>,
    #[serde(default)]
    pub claimed_at: Option<i64>,
    /// Bumped by each write; a write expects the version it read.
    pub version: u64,
}

/// How long a check's claim on a conversation's email stands (route-conversation's timeout is
/// 30 seconds).
pub const CLAIM_LEASE_MS: i64 = 120_000;

impl EmailThread {
    /// Whether a check is sending now (its claim younger than the lease).
    pub fn is_claimed(&self, now: i64) -> bool {
        self.claimed_through_seq.is_some()
            && self.claimed_at.is_some_and(|at| now - at < CLAIM_LEASE_MS)
    }

    /// The thread claimed by a check about to send the replies through `through_seq`.
    pub fn claimed(&self, through_seq: u64, now: i64) -> Self {
        Self {
            claimed_through_seq: Some(through_seq),
            claimed_at: Some(now),
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// The thread with its claim given up (a send that failed).
    pub fn released(&self) -> Self {
        Self {
            claimed_through_seq: None,
            claimed_at: None,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

/// How many Message-IDs a thread keeps for `References`.
pub const MAX_REFERENCES: usize = 10;

/// The replies, in order, the end user has neither read (`read_seq`) nor been emailed.
pub fn unread_replies<'a>(
    messages: &'a [Message],
    read_seq: u64,
    thread: &EmailThread,
) -> Vec<&'a Message> {
    let after = read_seq.max(thread.emailed_through_seq);
    messages
        .iter()
        .filter(|m| m.seq > after && is_emailed(m))
        .collect()
}

/// A file of a reply, with a link that downloads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLink {
    pub file_name: String,
    pub url: String,
}

/// An email ready for a provider: plain text, threaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub to: String,
    /// The conversation's reply address (`reply_token`).
    pub reply_to: String,
    pub subject: String,
    pub text: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

/// The email carrying `replies` (their text, then a link per file) to `to`.
pub fn compose(
    locale: Locale,
    to: &str,
    reply_to: &str,
    replies: &[(&Message, Vec<FileLink>)],
    thread: &EmailThread,
) -> OutgoingEmail {
    let texts = locale.texts();
    let mut text = format!("{}\n\n", texts.email_intro);
    for (reply, files) in replies {
        if let Some(body) = reply.text.as_deref().filter(|t| !t.trim().is_empty()) {
            text.push_str(body.trim_end());
            text.push_str("\n\n");
        }
        for file in files {
            text.push_str(&format!(
                "{}: {} <{}>\n\n",
                texts.email_attachment, file.file_name, file.url
            ));
        }
        text.push_str("---\n\n");
    }
    text.push_str(texts.email_reply_hint);
    text.push('\n');
    OutgoingEmail {
        to: to.into(),
        reply_to: reply_to.into(),
        subject: texts.email_subject.into(),
        text,
        in_reply_to: thread.message_ids.last().cloned(),
        references: thread.message_ids.clone(),
    }
}

/// The thread after an email `message_id` carrying replies through `through_seq`.
pub fn after_email(
    thread: &EmailThread,
    through_seq: u64,
    message_id: Option<String>,
) -> EmailThread {
    // Its claim, if any, is done.
    let mut next = thread.released();
    next.version = thread.version;
    next.emailed_through_seq = next.emailed_through_seq.max(through_seq);
    if let Some(id) = message_id {
        next.message_ids.push(id);
        let excess = next.message_ids.len().saturating_sub(MAX_REFERENCES);
        next.message_ids.drain(..excess);
    }
    next.version += 1;
    next
}

/// An address as suppression lists compare it.
pub fn normalized_address(address: &str) -> String {
    address.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Message;

    fn reply(seq: u64, role: AuthorRole, kind: MessageKind, text: &str) -> Message {
        Message {
            account_id: "acme".into(),
            conversation_id: "c_1".into(),
            seq,
            id: format!("m_{seq}"),
            client_message_id: format!("cm-{seq}"),
            author_id: "ag-1".into(),
            author_role: role,
            kind,
            text: Some(text.into()),
            rich: None,
            attachment_ids: vec![],
            session_no: 1,
            ticket_id: "t_1".into(),
            created_at: 1_000,
            request_hash: "h".into(),
            redacted: None,
            direct_push_seq: None,
        }
    }

    #[test]
    fn only_agents_visible_replies_after_what_was_read_and_emailed_go_out() {
        let messages = vec![
            reply(1, AuthorRole::Agent, MessageKind::Text, "read already"),
            reply(2, AuthorRole::EndUser, MessageKind::Text, "their own"),
            reply(3, AuthorRole::Agent, MessageKind::InternalNote, "a note"),
            reply(4, AuthorRole::Agent, MessageKind::Text, "emailed already"),
            reply(5, AuthorRole::Bot, MessageKind::Text, "the bot"),
            reply(6, AuthorRole::Agent, MessageKind::Text, "new"),
        ];
        let thread = EmailThread {
            emailed_through_seq: 4,
            ..EmailThread::default()
        };
        let seqs: Vec<u64> = unread_replies(&messages, 1, &thread)
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(seqs, [6]);
        let fresh = EmailThread::default();
        let seqs: Vec<u64> = unread_replies(&messages, 1, &fresh)
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(seqs, [4, 6]);
        assert!(
            EmailFollowup::after(&messages[2]).is_none(),
            "a note is never emailed"
        );
        assert!(EmailFollowup::after(&messages[5]).is_some());
    }

    #[test]
    fn the_email_speaks_the_conversations_language_and_threads_on_the_last_ten() {
        let message = reply(
            3,
            AuthorRole::Agent,
            MessageKind::Attachment,
            "Voici la facture.",
        );
        let files = vec![FileLink {
            file_name: "facture.pdf".into(),
            url: "https://files.example/f".into(),
        }];
        let mut thread = EmailThread::default();
        for n in 0..12 {
            thread = after_email(&thread, n, Some(format!("<{n}@ses>")));
        }
        assert_eq!(thread.message_ids.len(), MAX_REFERENCES);
        assert_eq!(thread.message_ids[0], "<2@ses>");
        assert_eq!(thread.version, 12);
        let email = compose(
            Locale::Fr,
            "a@example.org",
            "reply+x@r.test",
            &[(&message, files)],
            &thread,
        );
        assert_eq!(email.subject, crate::locale::FR.email_subject);
        assert!(
            email.text.starts_with(crate::locale::FR.email_intro),
            "{}",
            email.text
        );
        assert!(email.text.contains("Voici la facture."));
        assert!(email
            .text
            .contains("Pièce jointe: facture.pdf <https://files.example/f>"));
        assert!(email.text.contains(crate::locale::FR.email_reply_hint));
        assert_eq!(email.in_reply_to.as_deref(), Some("<11@ses>"));
        assert_eq!(email.references.len(), MAX_REFERENCES);
        let first = compose(
            Locale::En,
            "a@example.org",
            "r",
            &[],
            &EmailThread::default(),
        );
        assert_eq!(first.in_reply_to, None);
        assert!(first.references.is_empty());
    }
}
