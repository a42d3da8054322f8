//! R35's email of unread replies. The fan-out schedules an [`EmailFollowup`] after each
//! agent reply on the routing queue (a timer, like the idle check), delayed by
//! `messaging.email_followup_minutes`; route-conversation judges it when it comes back. One
//! email carries every reply the end user has neither read nor been emailed, so the checks of
//! several replies send one email, and a check that finds them read sends nothing. A check
//! claims the conversation's email thread before it sends; a claim lapses after
//! `CLAIM_LEASE_MS`, so a check that died half way is taken over.

use domain::attachments::AttachmentStatus;
use domain::email::outbound::{
    after_email, compose, unread_replies, EmailFollowup, EmailThread, FileLink,
};
use domain::model::{Message, Role};
use domain::realtime::{Listener, Stored, StoredChange};
use domain::settings::EMAIL_FOLLOWUP_MINUTES_RANGE;

use crate::backend::Backend;
use crate::error::StoreError;
use crate::ports::Queue;
use crate::settings_cache::AccountSettings;

/// How long the links to a reply's files are signed for: SigV4's longest (7 days). A link
/// signed with a Lambda role's temporary credentials stops with them, within hours
/// (docs/email.md).
pub const FILE_LINK_TTL_SECS: u64 = 7 * 24 * 3600;

/// How long a connected end user's reply keeps being checked again (a tab left open).
const RECHECK_FOR_MS: i64 = 24 * 3_600_000;

/// Claims tried before a check gives up to the others.
const MAX_CLAIM_ATTEMPTS: usize = 3;

/// Messages read at most, a page at a time, for the unread replies.
const MAX_MESSAGES_SCANNED: usize = 1_000;
const PAGE: usize = 100;

/// The fan-out's step: an agent's new reply schedules its check when the account emails
/// unread replies. Answers the delay it was queued with.
pub async fn schedule_after(
    settings: &(impl AccountSettings + ?Sized),
    routing_queue: &dyn Queue,
    change: &StoredChange,
) -> Result<Option<u32>, StoreError> {
    let (None, Some(Stored::Message(message))) = (&change.before, &change.after) else {
        return Ok(None);
    };
    let Some(followup) = EmailFollowup::after(message) else {
        return Ok(None);
    };
    let settings = settings.account_settings(&message.account_id).await?;
    let Some(minutes) = settings.messaging.email_followup_minutes else {
        return Ok(None);
    };
    enqueue(routing_queue, &followup, minutes).await.map(Some)
}

/// Queues `followup` to come back after `minutes` (at most SQS's 15); answers the delay.
async fn enqueue(
    routing_queue: &dyn Queue,
    followup: &EmailFollowup,
    minutes: u32,
) -> Result<u32, StoreError> {
    let delay = minutes.min(*EMAIL_FOLLOWUP_MINUTES_RANGE.end()) * 60;
    let body = serde_json::to_string(followup)
        .map_err(|e| StoreError::Internal(format!("email followup encoding: {e}")))?;
    routing_queue.send(&body, delay).await?;
    Ok(delay)
}

/// What a check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followup {
    /// An email went to the end user with the replies through `through_seq`.
    Sent {
        to: String,
        replies: usize,
        through_seq: u64,
    },
    /// Nothing to send, and why (a stable word for logs and tests).
    Nothing(&'static str),
}

/// Judges a check that came back at `now`.
pub async fn check(
    backend: &Backend,
    followup: &EmailFollowup,
    now: i64,
) -> Result<Followup, StoreError> {
    let (account_id, cid) = (&followup.account_id, &followup.conversation_id);
    let Some(sender) = backend.mailer.sender().cloned() else {
        return Ok(Followup::Nothing("email_not_configured"));
    };
    let settings = backend.account_settings(account_id).await?;
    if settings.messaging.email_followup_minutes.is_none() {
        return Ok(Followup::Nothing("email_followup_off"));
    }
    let store = backend.store.as_ref();
    let Some(conversation) = store.get_conversation(account_id, cid).await? else {
        return Ok(Followup::Nothing("conversation_gone"));
    };
    let read_seq = conversation.end_user.read_seq;
    if read_seq >= followup.reply_seq {
        return Ok(Followup::Nothing("read"));
    }
    let Some(to) = conversation.end_user_profile.email.clone() else {
        return Ok(Followup::Nothing("no_email_address"));
    };
    if store.is_suppressed(&to).await? {
        return Ok(Followup::Nothing("suppressed"));
    }
    let listener = Listener {
        account_id: account_id.clone(),
        user_id: conversation.owner_id.clone(),
        role: Role::EndUser,
    };
    if !store.connections_of(&listener).await?.is_empty() {
        // The widget shows the reply now; if the end user leaves without reading it, the
        // next check emails it (for a day after the reply).
        if let Some(minutes) = settings.messaging.email_followup_minutes {
            if now - followup.reply_at < RECHECK_FOR_MS {
                enqueue(backend.routing_queue.as_ref(), followup, minutes).await?;
            }
        }
        return Ok(Followup::Nothing("connected"));
    }
    // A conflict is another check's write: read again and judge what is left.
    for _ in 0..MAX_CLAIM_ATTEMPTS {
        let thread = store.email_thread(account_id, cid).await?;
        if thread.is_claimed(now) {
            // Another check is sending: this one comes back after the queue's visibility
            // timeout, and finds the replies emailed or the claim lapsed.
            return Err(StoreError::Unavailable(
                "an email of this conversation is on its way".into(),
            ));
        }
        let messages = unread_messages(backend, followup, read_seq, &thread).await?;
        let replies = unread_replies(&messages, read_seq, &thread);
        let Some(through_seq) = replies.last().map(|m| m.seq) else {
            return Ok(Followup::Nothing("already_emailed"));
        };
        // The thread is claimed first: of two checks racing, one sends, and only that one
        // reads the files, mints a reply address and writes the email.
        let claimed = thread.claimed(through_seq, now);
        match store.put_email_thread(&claimed).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other),
        }
        let sent = async {
            let with_files = file_links(backend, followup, &replies).await?;
            let reply_to =
                super::reply_address(store, account_id, cid, &sender.reply_domain, now).await?;
            let locale = conversation
                .end_user_profile
                .locale
                .unwrap_or(settings.locale);
            let email = compose(locale, &to, &reply_to, &with_files, &thread);
            backend.mailer.send(&email).await
        };
        return match sent.await {
            Ok(message_id) => {
                let done = after_email(&claimed, through_seq, message_id);
                if let Err(error) = store.put_email_thread(&done).await {
                    // The claim lapses; a later check may email these replies again.
                    tracing::warn!(%error, account_id, conversation_id = %cid, "email not recorded");
                }
                tracing::info!(
                    account_id,
                    conversation_id = %cid,
                    replies = replies.len(),
                    through_seq,
                    "unread replies emailed"
                );
                Ok(Followup::Sent {
                    to,
                    replies: replies.len(),
                    through_seq,
                })
            }
            // SES will never send this one (a rejected message, a sandbox recipient): the
            // replies count as emailed, so no check retries them.
            Err(StoreError::Refused(reason)) => {
                tracing::warn!(account_id, conversation_id = %cid, reason, "email refused by the provider");
                store
                    .put_email_thread(&after_email(&claimed, through_seq, None))
                    .await?;
                Ok(Followup::Nothing("refused"))
            }
            Err(error) => {
                if let Err(undo) = store.put_email_thread(&claimed.released()).await {
                    tracing::warn!(%undo, account_id, conversation_id = %cid, "email claim not released");
                }
                Err(error)
            }
        };
    }
    Ok(Followup::Nothing("raced"))
}

/// The conversation's messages after what the end user read and what was emailed.
async fn unread_messages(
    backend: &Backend,
    followup: &EmailFollowup,
    read_seq: u64,
    thread: &EmailThread,
) -> Result<Vec<Message>, StoreError> {
    let (account_id, cid) = (&followup.account_id, &followup.conversation_id);
    let mut messages = Vec::new();
    let mut after = read_seq.max(thread.emailed_through_seq);
    while messages.len() < MAX_MESSAGES_SCANNED {
        let page = backend
            .store
            .list_messages(account_id, cid, after, PAGE)
            .await?;
        let full = page.len() == PAGE;
        if let Some(last) = page.last() {
            after = last.seq;
        }
        messages.extend(page);
        if !full {
            break;
        }
    }
    Ok(messages)
}

/// Each reply with a link per clean file.
async fn file_links<'a>(
    backend: &Backend,
    followup: &EmailFollowup,
    replies: &[&'a Message],
) -> Result<Vec<(&'a Message, Vec<FileLink>)>, StoreError> {
    let (account_id, cid) = (&followup.account_id, &followup.conversation_id);
    let mut with_files = Vec::new();
    for reply in replies {
        let mut files = Vec::new();
        for attachment_id in &reply.attachment_ids {
            let Some(attachment) = backend
                .store
                .get_attachment(account_id, cid, attachment_id)
                .await?
            else {
                continue;
            };
            if attachment.status == AttachmentStatus::Clean {
                let url = crate::attachments::download_link(
                    backend.objects.as_ref(),
                    &attachment,
                    FILE_LINK_TTL_SECS,
                )
                .await?;
                files.push(FileLink {
                    file_name: attachment.file_name.clone(),
                    url,
                });
            }
        }
        with_files.push((*reply, files));
    }
    Ok(with_files)
}
