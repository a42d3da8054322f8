//! `fan-out`: the consumer of the table's change stream, and of its reactions queue (R31).
//! Each record's images become a change (`edge::lambda::stream_change`), and the changes of the
//! batch are reacted to in order (`stream_reactions::fan_out`): frames first, then every other
//! reaction, each on its own; one that fails becomes a job on the reactions queue, which this
//! function also consumes (`stream_reactions::retry_batch`), and the next change goes on.
//! Only a record that cannot be decoded, or whose failed reactions cannot be queued, is
//! reported by its sequence number: Lambda retries from there (bisecting, a bounded number of
//! times, then sending the batch's description to the on-failure destination).

use domain::realtime::StoredChange;
use edge::lambda::{
    batch_response, received_batch, stream_change, DynamoDbBatchItemFailure, DynamoDbEventResponse,
    DynamoDbStreamEvent, StreamOrQueue,
};
use use_cases::backend::Backend;
use use_cases::ports::ReceivedMessage;
use use_cases::stream_reactions;

/// Any event of the function, as Lambda sends it: a stream batch or a reactions queue batch.
/// Both answers are partial batch responses (`batchItemFailures`). An event that cannot be
/// read is an error, never an empty answer: the invocation fails and Lambda retries the batch
/// (then sends it to the stream's on-failure destination, or the queue's dead-letter queue).
pub async fn handle_event(
    backend: &Backend,
    event: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Error> {
    match StreamOrQueue::from_event(event).inspect_err(|error| {
        tracing::error!(%error, "undecodable event");
    })? {
        StreamOrQueue::Stream(event) => serde_json::to_value(handle(backend, event).await),
        StreamOrQueue::Queue(event) => {
            let batch = received_batch(event.records);
            let failed = handle_retries(backend, &batch).await;
            serde_json::to_value(batch_response(&batch, failed))
        }
    }
}

/// Runs the reaction jobs of one batch of the reactions queue; answers the ids that failed.
pub async fn handle_retries(backend: &Backend, batch: &[ReceivedMessage]) -> Vec<String> {
    stream_reactions::retry_batch(backend, batch, domain::now_ms()).await
}

fn failure_at(sequence_number: Option<String>) -> DynamoDbEventResponse {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = sequence_number;
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = vec![failure];
    response
}

/// Handles one batch of stream records; answers the first record to retry from, if any.
pub async fn handle(backend: &Backend, event: DynamoDbStreamEvent) -> DynamoDbEventResponse {
    // The changes, and beside each the sequence number of the record it came from.
    let (mut sequence_numbers, mut changes) = (Vec::new(), Vec::new());
    for record in event.records {
        let sequence_number = record.change.sequence_number.clone();
        match stream_change(record) {
            Ok(Some(change)) => {
                sequence_numbers.push(sequence_number);
                changes.push(change);
            }
            Ok(None) => {}
            Err(error) => {
                // Retried, then sent to the on-failure destination; the records before it
                // are delivered first.
                tracing::error!(%error, ?sequence_number, "undecodable stream record");
                let delivered = deliver(backend, &sequence_numbers, &changes).await;
                return delivered.unwrap_or_else(|| failure_at(sequence_number));
            }
        }
    }
    deliver(backend, &sequence_numbers, &changes)
        .await
        .unwrap_or_default()
}

/// Delivers `changes`; `Some(failure)` names the record of the first one to retry.
async fn deliver(
    backend: &Backend,
    sequence_numbers: &[Option<String>],
    changes: &[StoredChange],
) -> Option<DynamoDbEventResponse> {
    match stream_reactions::fan_out(backend, changes, domain::now_ms()).await {
        Ok(report) => {
            tracing::info!(
                changes = report.changes,
                frames = report.frames,
                gone = report.gone,
                retried = report.retried,
                "fanned out"
            );
            None
        }
        Err(failed) => {
            tracing::warn!(error = %failed.error, index = failed.index, "fan-out failed");
            Some(failure_at(sequence_numbers[failed.index].clone()))
        }
    }
}
