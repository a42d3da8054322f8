//! The queue consumers a test runs in process, as Lambda's SQS triggers would: the router
//! over the routing queue, the validator over the attachment queue, and what routing was asked.

use super::*;

impl TestApp {
    /// Runs the router over the routing queue until no message is visible; returns how many
    /// messages failed (left for redelivery). The queue may sit behind a fault proxy: a failed
    /// receive is retried and a failed acknowledgement leaves the message to be redelivered,
    /// which is what Lambda's SQS trigger does with them too; neither fails the test.
    pub async fn run_router(&self) -> usize {
        let mut failed = 0;
        let mut receive_failures = 0;
        loop {
            let batch = match self.routing_queue.receive(10).await {
                Ok(batch) => batch,
                Err(error) if receive_failures < MAX_HELPER_RECEIVE_FAILURES => {
                    receive_failures += 1;
                    eprintln!("run_router: receive failed ({error}); trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
                Err(error) => panic!(
                    "run_router: {MAX_HELPER_RECEIVE_FAILURES} receives in a row failed: {error}"
                ),
            };
            receive_failures = 0;
            if batch.is_empty() {
                return failed;
            }
            let failures = route_conversation::handle_batch(&self.backend, &batch).await;
            failed += failures.len();
            for message in batch.iter().filter(|m| !failures.contains(&m.message_id)) {
                if let Err(error) = self.routing_queue.acknowledge(&message.receipt).await {
                    eprintln!("run_router: acknowledge failed ({error}); SQS redelivers it");
                }
            }
        }
    }

    /// Runs validate-attachment over what this app's attachment queue holds (upload
    /// notifications and file purges) until it is empty and nothing taken from it is still
    /// being handled; returns how many messages this call saw fail. The gateway's own
    /// validate-attachment consumer reads the same queue (as Lambda's trigger would), so a
    /// message it took is waited for, not missed: an empty receive alone once let a test look
    /// for a purge's effect while that consumer was still deleting the files.
    pub async fn run_attachment_queue(&self) -> usize {
        let queue = &self.backend.attachment_events_queue;
        let mut failed = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let batch = queue
                .receive(10)
                .await
                .expect("receive from the attachment queue");
            if batch.is_empty() {
                if self.attachment_messages_in_flight().await == 0 {
                    return failed;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "attachment queue: messages taken a minute ago are still not handled"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            let failures = validate_attachment::handle_events(&self.backend, &batch).await;
            failed += failures.len();
            for message in batch.iter().filter(|m| !failures.contains(&m.message_id)) {
                queue
                    .acknowledge(&message.receipt)
                    .await
                    .expect("acknowledge an attachment queue message");
            }
        }
    }

    /// Messages of this app's attachment queue that a consumer has taken and not yet
    /// acknowledged (0 for an app on the provisioned resources, which has no queue of its own).
    async fn attachment_messages_in_flight(&self) -> u64 {
        let Some(config) = &self.config else {
            return 0;
        };
        let attribute =
            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible;
        let attributes = aws_sdk_sqs::Client::new(&emulator_config().await)
            .get_queue_attributes()
            .queue_url(&config.attachment_events_queue_url)
            .attribute_names(attribute.clone())
            .send()
            .await
            .expect("attachment queue attributes");
        attributes
            .attributes()
            .and_then(|a| a.get(&attribute))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Drains the routing queue; returns the parsed routing requests.
    pub async fn routing_requests(&self) -> Vec<domain::model::RoutingRequest> {
        let mut out = Vec::new();
        for _ in 0..5 {
            let batch = self.routing_queue.receive(10).await.expect("receive");
            if batch.is_empty() {
                break;
            }
            for m in batch {
                out.push(serde_json::from_str(&m.body).expect("routing request JSON"));
                self.routing_queue
                    .acknowledge(&m.receipt)
                    .await
                    .expect("ack");
            }
        }
        out
    }
}
