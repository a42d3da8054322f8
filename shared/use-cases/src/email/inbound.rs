//! An inbound reply (R35), from its raw copy in the bucket to the end user's message.
//!
//! The mail is read with `domain::email::inbound`, its reply token verified against the
//! grant and the grant's account secret, its text trimmed, its files put through R18's
//! admission and R19's inspection like any upload, and the message posted through the same
//! `post` as the widget's, as the conversation's end user: R22's new session for a solved or
//! closed ticket, R14's idempotency. Every id it makes derives from the `Message-ID`, so the
//! same mail delivered twice (or retried after a crash half way) appends once.
//!
//! A mail that cannot be appended (unparsable, no reply address, forged, foreign or expired
//! token, a conversation gone, nothing written) is dropped: logged, listed as a failure, and
//! its raw copy stays in the bucket. Only a store or bucket failure is an error (retried).

use domain::attachments::{
    admit as admission, AdmitRequest, Attachment, AttachmentStatus, NewFile,
};
use domain::email::inbound::{read_mail, InboundMail, MailAttachment, MAX_INBOUND_MAIL_BYTES};
use domain::email::reply_token::{verify, TokenRefusal};
use domain::ids::ConversationId;
use domain::messages::{PostMessageRequest, RequestedKind, MAX_ATTACHMENTS_PER_MESSAGE};
use domain::model::{Conversation, Role};
use domain::workspace::ProfileClaims;
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::backend::Backend;
use crate::conversations::ConversationError;
use crate::conversations::{post, Posted};
use crate::error::StoreError;
use crate::ports::EmailFailure;
use crate::quotas;
use crate::validation::{validate, Validation};

/// Files of one mail that are stored and inspected, as many as one message cites; the rest
/// are refused (`too_many_files`): a mail of thousands of tiny parts must not cost thousands
/// of round trips.
pub const MAX_FILES_PER_MAIL: usize = MAX_ATTACHMENTS_PER_MESSAGE;

/// What became of an inbound mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Appended as the end user's message (`replayed`: it was there already).
    Appended {
        account_id: String,
        conversation_id: String,
        seq: u64,
        session_no: u32,
        replayed: bool,
        /// Files refused by R18–R19 (name and reason); the message carries the others.
        refused_files: Vec<(String, String)>,
    },
    /// Dropped for `reason` (a stable code), listed as a failure.
    Dropped { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the raw mail at `object_key` and appends it (see the module's doc).
pub async fn receive(
    backend: &Backend,
    object_key: &str,
    now: i64,
) -> Result<Received, InboundError> {
    let Some(head) = backend.objects.object_head(object_key).await? else {
        return drop_mail(backend, object_key, None, "missing_object", now).await;
    };
    if head.size > MAX_INBOUND_MAIL_BYTES {
        return drop_mail(backend, object_key, None, "too_large", now).await;
    }
    if head.size == 0 {
        return drop_mail(backend, object_key, None, "unparsable", now).await;
    }
    let raw = backend
        .objects
        .read_prefix(object_key, head.size, &head.etag)
        .await?;
    let mail = match read_mail(&raw) {
        Ok(mail) => mail,
        Err(error) => return drop_mail(backend, object_key, None, error.code(), now).await,
    };
    drop(raw);
    let conversation = match addressed(backend, &mail, now).await? {
        Ok(conversation) => conversation,
        Err((account_id, reason)) => {
            tracing::warn!(
                object_key,
                from = mail.from.as_deref().unwrap_or_default(),
                reason,
                "inbound email refused"
            );
            return drop_mail(backend, object_key, account_id, reason, now).await;
        }
    };
    let account_id = conversation.account_id.clone();
    match append(backend, &conversation, &mail, now).await {
        Ok(received) => Ok(received),
        Err(ConversationError::Store(error)) => Err(error.into()),
        Err(refused) => {
            tracing::warn!(object_key, account_id, error = %refused, "inbound email not appended");
            drop_mail(backend, object_key, Some(account_id), "refused", now).await
        }
    }
}

/// The conversation the mail's first valid token names, or why none: (account, reason).
async fn addressed(
    backend: &Backend,
    mail: &InboundMail,
    now: i64,
) -> Result<Result<Conversation, (Option<String>, &'static str)>, StoreError> {
    let mut refusal = TokenRefusal::Forged;
    for token in &mail.tokens {
        let Some(grant) = backend.store.reply_grant(&token.token_id).await? else {
            continue;
        };
        // A grant's account has a secret (minting made it); without one nothing vouches.
        let Some(secret) = backend.store.email_secret(&grant.account_id).await? else {
            continue;
        };
        match verify(&secret, &grant, token, now) {
            Ok(()) => {}
            Err(TokenRefusal::Expired) => {
                refusal = TokenRefusal::Expired;
                continue;
            }
            Err(TokenRefusal::Forged) => continue,
        }
        return Ok(
            match backend
                .store
                .get_conversation(&grant.account_id, &grant.conversation_id)
                .await?
            {
                Some(conversation) => Ok(conversation),
                None => Err((Some(grant.account_id), "conversation_gone")),
            },
        );
    }
    Ok(Err((None, refusal.code())))
}

/// A deterministic id for the `index`-th item `kind` made from this mail.
fn derived(conversation: &Conversation, mail: &InboundMail, kind: &str, index: usize) -> String {
    let digest = Sha256::digest(
        format!(
            "{}\0{}\0{}\0{kind}\0{index}",
            conversation.account_id, conversation.id, mail.message_id
        )
        .as_bytes(),
    );
    hex::encode(&digest[..16])
}

/// Posts the mail as the conversation's end user.
async fn append(
    backend: &Backend,
    conversation: &Conversation,
    mail: &InboundMail,
    now: i64,
) -> Result<Received, ConversationError> {
    let principal = Principal {
        account_id: conversation.account_id.clone(),
        user_id: conversation.owner_id.clone(),
        role: Role::EndUser,
        profile_claims: ProfileClaims::default(),
        scopes: Vec::new(),
    };
    let mut clean = Vec::new();
    let mut refused_files = Vec::new();
    for (index, file) in mail.attachments.iter().enumerate() {
        if index >= MAX_FILES_PER_MAIL {
            refused_files.push((file.file_name.clone(), "too_many_files".into()));
            continue;
        }
        let id = format!("att_{}", derived(conversation, mail, "file", index));
        match store_file(backend, &principal, conversation, &id, file, now).await? {
            Ok(()) => clean.push(id),
            Err(reason) => refused_files.push((file.file_name.clone(), reason)),
        }
    }
    let text = (!mail.text.trim().is_empty()).then(|| mail.text.clone());
    // One message: its files (at most MAX_FILES_PER_MAIL, what one message may cite) with the
    // text as their caption, or the text alone.
    let kind = if clean.is_empty() {
        if text.is_none() {
            return Err(domain::DomainError::Unprocessable("the mail says nothing".into()).into());
        }
        RequestedKind::Text
    } else {
        RequestedKind::Attachment
    };
    let request = PostMessageRequest {
        client_message_id: format!("email-{}", derived(conversation, mail, "message", 0)),
        kind,
        text,
        rich: None,
        attachment_ids: (!clean.is_empty()).then(|| clean.clone()),
    };
    let cid = ConversationId::parse(&conversation.id).ok_or(ConversationError::NotFound)?;
    let (message, replayed) = match post(backend, &principal, &cid, request, now).await? {
        Posted::Created(message) => (message, false),
        Posted::Replayed(message) => (message, true),
    };
    tracing::info!(
        account_id = %conversation.account_id,
        conversation_id = %conversation.id,
        message_id = %mail.message_id,
        replayed,
        files = clean.len(),
        refused_files = refused_files.len(),
        "inbound email appended"
    );
    Ok(Received::Appended {
        account_id: conversation.account_id.clone(),
        conversation_id: conversation.id.clone(),
        seq: message.seq,
        session_no: message.session_no,
        replayed,
        refused_files,
    })
}

/// One emailed file through R18's admission, R33's quota and R19's inspection: `Ok(Ok(()))`
/// when it is clean (now or from an earlier delivery), `Ok(Err(reason))` when refused.
async fn store_file(
    backend: &Backend,
    principal: &Principal,
    conversation: &Conversation,
    id: &str,
    file: &MailAttachment,
    now: i64,
) -> Result<Result<(), String>, ConversationError> {
    let (account_id, cid) = (&conversation.account_id, &conversation.id);
    let stored = match backend.store.get_attachment(account_id, cid, id).await? {
        Some(stored) => stored,
        None => {
            if !backend.settings(account_id).await?.attachments.enabled {
                return Ok(Err("attachments_disabled".into()));
            }
            let declared = AdmitRequest {
                file_name: file.file_name.clone(),
                content_type: file.content_type.clone(),
                size: file.bytes.len() as i64,
                private: false,
            };
            let extension = match admission(&declared) {
                Ok(extension) => extension,
                Err(refused) => return Ok(Err(refused.to_string())),
            };
            match quotas::charge(
                backend.store.as_ref(),
                principal,
                &quotas::UPLOADS_PER_DAY,
                &[1, file.bytes.len() as u64],
                now,
            )
            .await
            {
                Ok(()) => {}
                Err(quotas::QuotaError::Exceeded { .. }) => {
                    return Ok(Err("quota_exceeded".into()))
                }
                // A store failure is retried with the whole mail, never taken for a refusal.
                Err(quotas::QuotaError::Store(error)) => return Err(error.into()),
            }
            let attachment = Attachment::pending(NewFile {
                account_id,
                conversation_id: cid,
                id: id.to_string(),
                uploader_id: &principal.user_id,
                declared: &declared,
                extension,
                now,
            });
            match backend.store.create_attachment(&attachment).await {
                Ok(()) => attachment,
                // A concurrent delivery of the same mail made it first.
                Err(StoreError::AlreadyExists) => backend
                    .store
                    .get_attachment(account_id, cid, id)
                    .await?
                    .ok_or(ConversationError::NotFound)?,
                Err(other) => return Err(other.into()),
            }
        }
    };
    let stored = if stored.status == AttachmentStatus::Pending {
        if backend
            .objects
            .object_head(&stored.object_key)
            .await?
            .is_none()
        {
            backend
                .objects
                .put_object(&stored.object_key, file.bytes.clone(), &file.content_type)
                .await?;
        }
        match validate(
            backend.store.as_ref(),
            backend.objects.as_ref(),
            stored,
            now,
        )
        .await?
        {
            Validation::Decided(decided) | Validation::NotUploaded(decided) => decided,
        }
    } else {
        stored
    };
    Ok(match stored.status {
        AttachmentStatus::Clean => Ok(()),
        _ => Err(stored
            .reason
            .map_or_else(|| "rejected".to_string(), |r| format!("{r:?}"))),
    })
}

async fn drop_mail(
    backend: &Backend,
    object_key: &str,
    account_id: Option<String>,
    reason: &str,
    now: i64,
) -> Result<Received, InboundError> {
    backend
        .store
        .record_email_failure(&EmailFailure {
            object_key: object_key.to_string(),
            reason: reason.to_string(),
            account_id,
            failed_at: now,
        })
        .await?;
    Ok(Received::Dropped {
        reason: reason.to_string(),
    })
}
