//! Attachments: admission records and their one-way decision.

use super::*;

#[async_trait]
impl AttachmentStore for MemoryStore {
    async fn create_attachment(&self, attachment: &Attachment) -> Result<(), StoreError> {
        let key = (
            attachment.account_id.clone(),
            attachment.conversation_id.clone(),
            attachment.id.clone(),
        );
        let mut tables = self.lock()?;
        if tables.attachments.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        tables.attachments.insert(key, attachment.clone());
        Ok(())
    }

    async fn get_attachment(
        &self,
        account_id: &str,
        conversation_id: &str,
        attachment_id: &str,
    ) -> Result<Option<Attachment>, StoreError> {
        let key = (
            account_id.into(),
            conversation_id.into(),
            attachment_id.into(),
        );
        Ok(self.lock()?.attachments.get(&key).cloned())
    }

    async fn decide_attachment(&self, decided: &Attachment) -> Result<Attachment, StoreError> {
        let key = (
            decided.account_id.clone(),
            decided.conversation_id.clone(),
            decided.id.clone(),
        );
        let mut tables = self.lock()?;
        match tables.attachments.get_mut(&key) {
            Some(stored) if stored.status == AttachmentStatus::Pending => {
                *stored = decided.clone();
                Ok(decided.clone())
            }
            Some(stored) => Ok(stored.clone()),
            None => Err(StoreError::Internal(
                "attachment decided but not admitted".into(),
            )),
        }
    }

    async fn store_erased_attachment(&self, erased: &Attachment) -> Result<bool, StoreError> {
        let key = (
            erased.account_id.clone(),
            erased.conversation_id.clone(),
            erased.id.clone(),
        );
        let mut tables = self.lock()?;
        match tables.attachments.get_mut(&key) {
            Some(stored) => {
                *stored = erased.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
