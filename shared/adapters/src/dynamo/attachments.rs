//! Attachments: admission records and their one-way decision.

use super::*;

pub(super) fn attachment_sk(attachment_id: &str) -> String {
    format!("ATT#{attachment_id}")
}

#[async_trait]
impl AttachmentStore for DynamoStore {
    async fn create_attachment(&self, attachment: &Attachment) -> Result<(), StoreError> {
        let item = encode(
            attachment,
            conversation_pk(&attachment.account_id, &attachment.conversation_id),
            attachment_sk(&attachment.id),
        )?;
        match self.put(item, Some("attribute_not_exists(pk)")).await {
            Err(StoreError::Conflict) => Err(StoreError::AlreadyExists),
            other => other,
        }
    }

    async fn get_attachment(
        &self,
        account_id: &str,
        conversation_id: &str,
        attachment_id: &str,
    ) -> Result<Option<Attachment>, StoreError> {
        self.get(
            conversation_pk(account_id, conversation_id),
            attachment_sk(attachment_id),
        )
        .await?
        .map(decode)
        .transpose()
    }

    async fn decide_attachment(&self, decided: &Attachment) -> Result<Attachment, StoreError> {
        let item = encode(
            decided,
            conversation_pk(&decided.account_id, &decided.conversation_id),
            attachment_sk(&decided.id),
        )?;
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await
            .map_err(store_error);
        match written {
            Ok(_) => Ok(decided.clone()),
            // Decided before (or never admitted): the stored record is the answer.
            Err(StoreError::Conflict) => self
                .get_attachment(&decided.account_id, &decided.conversation_id, &decided.id)
                .await?
                .ok_or_else(|| StoreError::Internal("attachment decided but not admitted".into())),
            Err(other) => Err(other),
        }
    }

    async fn store_erased_attachment(&self, erased: &Attachment) -> Result<bool, StoreError> {
        let item = encode(
            erased,
            conversation_pk(&erased.account_id, &erased.conversation_id),
            attachment_sk(&erased.id),
        )?;
        match self.put(item, Some("attribute_exists(pk)")).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }
}
