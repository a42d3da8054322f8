//! `fan-out`: the consumer of the table's change stream. Each record's images become a change
//! (`adapters::dynamo::stream`), and the changes of the batch are delivered in order
//! (`live::fan_out`). A change that cannot be delivered now is reported by its sequence
//! number: Lambda retries from there (bisecting, a bounded number of times, then sending the
//! batch's description to the on-failure destination), so nothing after a failure is skipped.

use shared::adapters::dynamo::stream::change_of;
use shared::backend::Backend;
use shared::lambda::{DynamoDbBatchItemFailure, DynamoDbEventResponse, DynamoDbStreamEvent};
use shared::live;
use shared::realtime::StoredChange;

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
        let sequence_number = record.change.sequence_number;
        match change_of(record.change.old_image, record.change.new_image) {
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
    match live::fan_out(backend, changes, shared::now_ms()).await {
        Ok(report) => {
            tracing::info!(
                changes = report.changes,
                frames = report.frames,
                gone = report.gone,
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
