//! Redaction and erasure (#19): staff redact one message (its content goes; a tombstone keeps
//! its seq, and readers are told from the change stream with `message.redacted`); an admin
//! erases an end user: every message they wrote becomes a tombstone (R34: those written as a
//! visitor before identify too), their CSAT comments go, the files of those
//! messages are deleted, their name and email leave their conversations and the tickets'
//! history, and the erasure is an entry of the account's audit log.
//!
//! Files go before the tombstone: their deletion is queued for validate-attachment (the one
//! function that deletes objects) and their records marked erased, so they are never served
//! again; a crash in between leaves a message whose files are already on their way out (a
//! retry finishes it), never a tombstone whose files are still served.

use serde_json::json;

use crate::agent_workspace::WorkspaceError;
use crate::auth::{visible_conversation, Principal};
use crate::backend::Backend;
use crate::error::StoreError;
use crate::ports::update_with_retry;
use crate::validation::queue_file_purge;
use domain::attachments::{erased, AttachmentStatus, FilePurge, PurgedFiles};
use domain::model::{AuthorRole, Conversation, Message, Redaction, RedactionReason, Role};
use domain::rules::redacted;
use domain::settings::Change;
use domain::workspace::{without_profile, ERASED_VALUE};

/// Conversations one erasure request goes through at most; `complete: false` beyond (the
/// request is repeated: what was erased stays erased, the rest follows).
pub const MAX_CONVERSATIONS_PER_ERASURE: usize = 500;
const PAGE: usize = 100;

/// What an erasure did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erasure {
    pub user_id: String,
    pub conversations: usize,
    pub messages: usize,
    pub attachments: usize,
    /// CSAT answers whose comment and end-user id were erased (the score stays).
    pub csat_answers: usize,
    /// False when the end user has more conversations than one request goes through.
    pub complete: bool,
    /// The audit log's entry (its version) that records it.
    pub audit_version: u64,
}

/// The message at `seq` of a conversation, if any.
async fn message_at(
    backend: &Backend,
    account_id: &str,
    conversation_id: &str,
    seq: u64,
) -> Result<Option<Message>, StoreError> {
    let Some(after) = seq.checked_sub(1) else {
        return Ok(None);
    };
    Ok(backend
        .store
        .list_messages(account_id, conversation_id, after, 1)
        .await?
        .into_iter()
        .find(|m| m.seq == seq))
}

/// Queues the deletion of an attachment's bytes (uploaded and validated copies), then marks it
/// erased (never served again from that moment). Answers whether it was erased now.
async fn erase_attachment(
    backend: &Backend,
    message: &Message,
    attachment_id: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let Some(attachment) = backend
        .store
        .get_attachment(&message.account_id, &message.conversation_id, attachment_id)
        .await?
    else {
        return Ok(false);
    };
    if attachment.status == AttachmentStatus::Erased {
        return Ok(false);
    }
    let purge = FilePurge {
        account_id: attachment.account_id.clone(),
        conversation_id: attachment.conversation_id.clone(),
        files: PurgedFiles::Attachments(vec![attachment.id.clone()]),
    };
    queue_file_purge(backend.attachment_events_queue.as_ref(), &purge).await?;
    backend
        .store
        .store_erased_attachment(&erased(&attachment, at))
        .await
}

/// Replaces `message` by its tombstone, its files erased first. Answers the message as stored
/// afterwards and how many files were erased now.
async fn erase_content(
    backend: &Backend,
    message: &Message,
    redaction: Redaction,
) -> Result<(Message, usize), StoreError> {
    let mut files = 0;
    for attachment_id in &message.attachment_ids {
        if erase_attachment(backend, message, attachment_id, redaction.at).await? {
            files += 1;
        }
    }
    let tombstone = redacted(message, redaction);
    if backend.store.store_redaction(&tombstone).await? {
        tracing::info!(
            account_id = %message.account_id,
            conversation_id = %message.conversation_id,
            seq = message.seq,
            reason = ?tombstone.redacted.as_ref().map(|r| r.reason),
            "message redacted"
        );
        return Ok((tombstone, files));
    }
    // Someone redacted it first: theirs is the tombstone.
    let stored = message_at(
        backend,
        &message.account_id,
        &message.conversation_id,
        message.seq,
    )
    .await?
    .unwrap_or(tombstone);
    Ok((stored, files))
}

/// `POST /v1/conversations/{cid}/messages/{seq}/redact` (agents and admins of the account):
/// the message's content and files go, its tombstone comes back. Redacting twice answers the
/// first tombstone.
pub async fn redact_message(
    backend: &Backend,
    principal: &Principal,
    cid: &domain::ids::ConversationId,
    seq: u64,
    now: i64,
) -> Result<Message, WorkspaceError> {
    if !principal.role.is_staff() {
        return Err(WorkspaceError::Forbidden(
            "only agents and admins redact messages",
        ));
    }
    let conversation = visible_conversation(backend.store.as_ref(), principal, cid)
        .await?
        .ok_or(WorkspaceError::NotFound)?;
    let message = message_at(backend, &conversation.account_id, &conversation.id, seq)
        .await?
        .ok_or(WorkspaceError::NotFound)?;
    if message.redacted.is_some() {
        return Ok(message);
    }
    let redaction = Redaction {
        reason: RedactionReason::Redacted,
        by: principal.user_id.clone(),
        at: now,
    };
    Ok(erase_content(backend, &message, redaction).await?.0)
}

/// Replaces the end user's name and email in the conversation's ticket history.
async fn scrub_history(backend: &Backend, conversation: &Conversation) -> Result<(), StoreError> {
    let mut after = 0;
    loop {
        let page = backend
            .store
            .list_history(&conversation.account_id, &conversation.id, after, PAGE)
            .await?;
        let scrubbed: Vec<_> = page
            .iter()
            .filter(|e| e.field.starts_with("end_user."))
            .filter_map(|entry| {
                let hide = |v: &serde_json::Value| {
                    if v.is_null() {
                        v.clone()
                    } else {
                        json!(ERASED_VALUE)
                    }
                };
                let mut clean = entry.clone();
                clean.before = hide(&entry.before);
                clean.after = hide(&entry.after);
                (clean != *entry).then_some(clean)
            })
            .collect();
        if !scrubbed.is_empty() {
            backend.store.record_history(&scrubbed).await?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = last.revision,
            _ => return Ok(()),
        }
    }
}

/// Erases one conversation's part of an end user: their messages' content and files, their
/// profile and its history, their CSAT answers' comments and id. Answers what it erased now.
async fn erase_in_conversation(
    backend: &Backend,
    conversation: Conversation,
    by: &Principal,
    now: i64,
) -> Result<Erased, StoreError> {
    let (mut messages, mut files) = (0, 0);
    let mut after = 0;
    loop {
        let page = backend
            .store
            .list_messages(&conversation.account_id, &conversation.id, after, PAGE)
            .await?;
        for message in &page {
            // A conversation has one end user: every end-user message of one of theirs is
            // theirs, those written as a visitor before identify included (R34).
            let theirs = message.author_role == AuthorRole::EndUser;
            if theirs && message.redacted.is_none() {
                let redaction = Redaction {
                    reason: RedactionReason::Erased,
                    by: by.user_id.clone(),
                    at: now,
                };
                let (_, erased_files) = erase_content(backend, message, redaction).await?;
                messages += 1;
                files += erased_files;
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = last.seq,
            _ => break,
        }
    }
    let actor = by.actor();
    update_with_retry::<StoreError, _>(backend.store.as_ref(), conversation.clone(), |current| {
        Ok(without_profile(current, actor.clone(), now))
    })
    .await?;
    scrub_history(backend, &conversation).await?;
    let csat_answers = backend
        .store
        .erase_csat_end_user(&conversation.account_id, &conversation.id, ERASED_VALUE)
        .await?;
    Ok(Erased {
        messages,
        attachments: files,
        csat_answers,
    })
}

/// What one conversation's erasure reached.
struct Erased {
    messages: usize,
    attachments: usize,
    csat_answers: usize,
}

/// `DELETE /v1/end-users/{user_id}` (admins): erases what the end user wrote and who they
/// were, in every conversation of theirs in the caller's account, and records it in the audit
/// log. Repeating it erases what is left (and is recorded again).
pub async fn erase_end_user(
    backend: &Backend,
    principal: &Principal,
    user_id: &str,
    now: i64,
) -> Result<Erasure, WorkspaceError> {
    if principal.role != Role::Admin {
        return Err(WorkspaceError::Forbidden("only admins erase end users"));
    }
    if !domain::ids::is_safe_identifier(user_id) {
        return Err(WorkspaceError::NotFound);
    }
    let account_id = &principal.account_id;
    let conversations = backend
        .store
        .list_conversations_for_user(account_id, user_id, MAX_CONVERSATIONS_PER_ERASURE + 1)
        .await?;
    let complete = conversations.len() <= MAX_CONVERSATIONS_PER_ERASURE;
    let mut erasure = Erasure {
        user_id: user_id.to_string(),
        complete,
        ..Erasure::default()
    };
    for conversation in conversations
        .into_iter()
        .take(MAX_CONVERSATIONS_PER_ERASURE)
    {
        let erased = erase_in_conversation(backend, conversation, principal, now).await?;
        erasure.conversations += 1;
        erasure.messages += erased.messages;
        erasure.attachments += erased.attachments;
        erasure.csat_answers += erased.csat_answers;
    }
    let change = Change {
        before: json!(user_id),
        after: json!({
            "erased": true,
            "conversations": erasure.conversations,
            "messages": erasure.messages,
            "attachments": erasure.attachments,
            "csat_answers": erasure.csat_answers,
            "complete": erasure.complete,
        }),
    };
    erasure.audit_version = crate::settings_change::record_in_audit(
        backend,
        account_id,
        &principal.user_id,
        [("erasure.end_user".to_string(), change)].into(),
    )
    .await?;
    tracing::info!(
        %account_id,
        conversations = erasure.conversations,
        messages = erasure.messages,
        attachments = erasure.attachments,
        csat_answers = erasure.csat_answers,
        complete,
        "end user erased"
    );
    Ok(erasure)
}
