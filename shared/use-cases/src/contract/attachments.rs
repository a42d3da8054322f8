//! Attachments: decided once, only while pending (R19).

use super::*;

pub async fn attachment_is_decided_once_and_only_while_pending_and_erased_at_any_time(
    store: Arc<dyn Store>,
) {
    use domain::attachments::{Attachment, AttachmentStatus};
    let account = fresh_account();
    let conversation_id = new_id("c");
    let pending = pending_attachment(&account, &conversation_id, "eu-1");
    let id = pending.id.clone();
    store.create_attachment(&pending).await.unwrap();
    assert!(matches!(
        store.create_attachment(&pending).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store
            .get_attachment(&account, &conversation_id, &id)
            .await
            .unwrap(),
        Some(pending.clone())
    );
    // Another conversation's id space is separate.
    assert_eq!(
        store
            .get_attachment(&account, &new_id("c"), &id)
            .await
            .unwrap(),
        None
    );
    let clean = Attachment {
        status: AttachmentStatus::Clean,
        size: Some(10),
        decided_at: Some(2),
        ..pending.clone()
    };
    assert_eq!(store.decide_attachment(&clean).await.unwrap(), clean);
    // A second, different decision does not overwrite the first.
    let rejected = Attachment {
        status: AttachmentStatus::Rejected,
        reason: Some("content_mismatch".into()),
        decided_at: Some(3),
        ..pending
    };
    assert_eq!(store.decide_attachment(&rejected).await.unwrap(), clean);
    assert_eq!(
        store
            .get_attachment(&account, &conversation_id, &id)
            .await
            .unwrap(),
        Some(clean.clone())
    );
    // Erasure replaces the decided record, whatever it was; a pending upload can no longer
    // be decided clean afterwards.
    let erased = domain::attachments::erased(&clean, 4);
    assert!(store.store_erased_attachment(&erased).await.unwrap());
    assert_eq!(
        store
            .get_attachment(&account, &conversation_id, &id)
            .await
            .unwrap(),
        Some(erased.clone())
    );
    assert_eq!(store.decide_attachment(&clean).await.unwrap(), erased);
    // Nothing is created for an attachment that was never admitted.
    let stranger = Attachment {
        id: new_id("att"),
        ..erased
    };
    assert!(!store.store_erased_attachment(&stranger).await.unwrap());
    assert_eq!(
        store
            .get_attachment(&account, &conversation_id, &stranger.id)
            .await
            .unwrap(),
        None
    );
}

/// A pending attachment of `uploader` in a conversation, as `upload-attachment` admits one.
pub fn pending_attachment(
    account: &str,
    conversation_id: &str,
    uploader: &str,
) -> domain::attachments::Attachment {
    use domain::attachments::{object_key, Attachment, AttachmentStatus};
    let id = new_id("att");
    Attachment {
        account_id: account.into(),
        conversation_id: conversation_id.into(),
        object_key: object_key(account, conversation_id, &id),
        id,
        uploader_id: uploader.into(),
        file_name: "a.png".into(),
        extension: "png".into(),
        declared_content_type: "image/png".into(),
        declared_size: 10,
        size: None,
        status: AttachmentStatus::Pending,
        reason: None,
        download_only: false,
        created_at: 1,
        decided_at: None,
    }
}
