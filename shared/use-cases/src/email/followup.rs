//! R35's email of unread replies. The fan-out schedules an [`EmailFollowup`] after each
//! agent reply on the routing queue (a timer, like the idle check), delayed by
//! `messaging.email_followup_minutes`; route-conversation judges it when it comes back. One
//! email carries every reply the end user has neither read nor been emailed, so the checks of
//! several replies send one email, and a check that finds them read sends nothing.

use domain::attachments::AttachmentStatus;
use domain::email::outbound::{after_email, compose, unread_replies, EmailFollowup, FileLink};
use domain::model::Role;
use domain::realtime::{Listener, Stored, StoredChange};
use domain::settings::EMAIL_FOLLOWUP_MINUTES_RANGE;

use crate::backend::Backend;
use crate::error::StoreError;
use crate::ports::Queue;
use crate::settings_cache::AccountSettings;

/// How long the links to a reply's files work: SigV4's longest (7 days).
pub const FILE_LINK_TTL_SECS: u64 = 7 * 24 * 3600;

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
    let delay = minutes.min(*EMAIL_FOLLOWUP_MINUTES_RANGE.end()) * 60;
    let body = serde_json::to_string(&followup)
        .map_err(|e| StoreError::Internal(format!("email followup encoding: {e}")))?;
    routing_queue.send(&body, delay).await?;
    Ok(Some(delay))
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
        return Ok(Followup::Nothing("connected"));
    }
    let thread = store.email_thread(account_id, cid).await?;
    let mut messages = Vec::new();
    let mut after = read_seq.max(thread.emailed_through_seq);
    while messages.len() < MAX_MESSAGES_SCANNED {
        let page = store.list_messages(account_id, cid, after, PAGE).await?;
        let full = page.len() == PAGE;
        if let Some(last) = page.last() {
            after = last.seq;
        }
        messages.extend(page);
        if !full {
            break;
        }
    }
    let replies = unread_replies(&messages, read_seq, &thread);
    let Some(through_seq) = replies.last().map(|m| m.seq) else {
        return Ok(Followup::Nothing("already_emailed"));
    };
    let mut with_files = Vec::new();
    for reply in &replies {
        let mut files = Vec::new();
        for attachment_id in &reply.attachment_ids {
            let Some(attachment) = store.get_attachment(account_id, cid, attachment_id).await?
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
    let reply_to = super::reply_address(store, account_id, cid, &sender.reply_domain, now).await?;
    let locale = conversation
        .end_user_profile
        .locale
        .unwrap_or(settings.locale);
    let email = compose(locale, &to, &reply_to, &with_files, &thread);
    // The thread moves first: of two checks racing, one sends. A send that fails puts the
    // thread back, and the check is retried.
    let claimed = after_email(&thread, through_seq, None);
    match store.put_email_thread(&claimed).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Ok(Followup::Nothing("raced")),
        Err(other) => return Err(other),
    }
    match backend.mailer.send(&email).await {
        Ok(message_id) => {
            if message_id.is_some() {
                let mut recorded = after_email(&claimed, through_seq, message_id);
                recorded.emailed_through_seq = claimed.emailed_through_seq;
                // Only the id is new; a conflict means a later email already moved on.
                if let Err(error) = store.put_email_thread(&recorded).await {
                    tracing::warn!(%error, account_id, conversation_id = %cid, "email id not recorded");
                }
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
        Err(error) => {
            let mut released = thread.clone();
            released.version = claimed.version + 1;
            if let Err(undo) = store.put_email_thread(&released).await {
                tracing::warn!(%undo, account_id, conversation_id = %cid, "email claim not released");
            }
            Err(error)
        }
    }
}
