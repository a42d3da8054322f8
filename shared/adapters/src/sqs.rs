//! SQS adapter of the `Queue` port.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use aws_sdk_sqs::Client;

use crate::on_demand::OnDemand;
use use_cases::error::StoreError;
use use_cases::ports::{Queue, ReceivedMessage};

#[derive(Clone)]
pub struct SqsQueue {
    client: Arc<OnDemand<Client>>,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self::on_demand(OnDemand::ready(client), url)
    }

    /// A queue whose client is built on its first call (shared by the queues of one function).
    pub fn on_demand(client: Arc<OnDemand<Client>>, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, body: &str, delay_seconds: u32) -> Result<(), StoreError> {
        let body = sqs_body(body)?;
        self.client
            .get()
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(delay_seconds.min(900) as i32)
            .send()
            .await
            .map_err(crate::sdk_error)?;
        Ok(())
    }

    /// Ten messages per `SendMessageBatch` request (SQS's limit); entries SQS reports as
    /// failed are sent again once, then the call fails (the caller's message is retried).
    async fn send_batch(&self, messages: &[(String, u32)]) -> Result<(), StoreError> {
        for chunk in messages.chunks(10) {
            let mut pending: Vec<(usize, &(String, u32))> = chunk.iter().enumerate().collect();
            for _attempt in 0..2 {
                if pending.is_empty() {
                    break;
                }
                let entries = pending
                    .iter()
                    .map(|(i, (body, delay))| {
                        SendMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .message_body(sqs_body(body)?)
                            .delay_seconds((*delay).min(900) as i32)
                            .build()
                            .map_err(|e| StoreError::Internal(format!("batch entry: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let output = self
                    .client
                    .get()
                    .send_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(crate::sdk_error)?;
                let failed: Vec<&str> = output.failed.iter().map(|f| f.id.as_str()).collect();
                pending.retain(|(i, _)| failed.contains(&i.to_string().as_str()));
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(format!(
                    "{} queue messages not accepted",
                    pending.len()
                )));
            }
        }
        Ok(())
    }

    async fn receive(&self, max: u32) -> Result<Vec<ReceivedMessage>, StoreError> {
        let output = self
            .client
            .get()
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(crate::sdk_error)?;
        Ok(output
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Some(ReceivedMessage {
                    message_id: m.message_id?,
                    receipt: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect())
    }

    async fn acknowledge(&self, receipt: &str) -> Result<(), StoreError> {
        self.client
            .get()
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(crate::sdk_error)?;
        Ok(())
    }

    async fn retry_after(&self, receipt: &str, delay_seconds: u32) -> Result<(), StoreError> {
        self.client
            .get()
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(delay_seconds.min(900) as i32)
            .send()
            .await
            .map_err(crate::sdk_error)?;
        Ok(())
    }
}

/// A body as SQS takes it (R32): characters it cannot carry escaped, at most 256 KiB; the
/// in-memory queue applies the same, so both refuse what SQS refuses.
pub fn sqs_body(body: &str) -> Result<String, StoreError> {
    domain::aws_limits::sqs_json_body(body)
        .map(|b| b.into_owned())
        .map_err(|e| StoreError::Internal(e.to_string()))
}
