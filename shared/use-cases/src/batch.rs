//! The one batch runner of the queue consumers. Each message is parsed into its consumer's
//! type and handled on its own: a message that does not parse, or whose handling fails, is
//! reported by id (SQS retries it, then dead-letters it after the queue's receive limit) and
//! the rest of the batch goes on (R26). What the ids become, a partial batch response, is the
//! edge's business (`edge::lambda::batch_response`).

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use serde::de::DeserializeOwned;

use crate::ports::ReceivedMessage;

/// Runs `handle` on every message of `batch` parsed as `M`; returns the ids of the messages
/// that failed, in batch order. `consumer` names the consumer in the logs.
pub async fn run_batch<M, E, F, Fut>(
    consumer: &'static str,
    batch: &[ReceivedMessage],
    mut handle: F,
) -> Vec<String>
where
    M: DeserializeOwned,
    E: Display,
    F: FnMut(M) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut failed = Vec::new();
    for message in batch {
        let outcome = match serde_json::from_str::<M>(&message.body) {
            // A panic (a bug met by this message) fails this message only; the rest of the
            // batch goes on and the execution environment stays warm.
            Ok(parsed) => match AssertUnwindSafe(handle(parsed)).catch_unwind().await {
                Ok(handled) => handled.map_err(|e| e.to_string()),
                Err(panic) => Err(format!("handler panicked: {}", panic_message(&panic))),
            },
            // Retrying cannot help: the dead-letter queue keeps it for inspection.
            Err(error) => Err(format!("malformed message: {error}")),
        };
        if let Err(error) = outcome {
            tracing::warn!(
                consumer,
                %error,
                message_id = %message.message_id,
                receive_count = message.receive_count,
                "queue message failed"
            );
            failed.push(message.message_id.clone());
        }
    }
    failed
}

/// The text a panic carried, when it carried one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, body: &str) -> ReceivedMessage {
        ReceivedMessage {
            message_id: id.into(),
            receipt: format!("r-{id}"),
            body: body.into(),
            receive_count: 1,
        }
    }

    #[derive(serde::Deserialize)]
    struct Job {
        n: u32,
    }

    #[test]
    fn poison_and_failed_messages_are_reported_alone_and_the_rest_is_handled() {
        let batch = [
            message("a", r#"{"n": 1}"#),
            message("poison", "{not json"),
            message("b", r#"{"n": 13}"#),
            message("c", r#"{"n": 2}"#),
        ];
        let mut handled = Vec::new();
        let failed = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(run_batch("test", &batch, |job: Job| {
                handled.push(job.n);
                async move {
                    if job.n == 13 {
                        Err("unlucky")
                    } else {
                        Ok(())
                    }
                }
            }));
        assert_eq!(failed, vec!["poison".to_string(), "b".to_string()]);
        assert_eq!(handled, vec![1, 13, 2]);
    }

    #[test]
    fn a_message_whose_handler_panics_fails_alone_and_the_batch_goes_on() {
        let batch = [
            message("a", r#"{"n": 1}"#),
            message("boom", r#"{"n": 66}"#),
            message("c", r#"{"n": 2}"#),
        ];
        let mut handled = Vec::new();
        let failed = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(run_batch("test", &batch, |job: Job| {
                handled.push(job.n);
                async move {
                    assert_ne!(job.n, 66, "a bug this message meets");
                    Ok::<_, String>(())
                }
            }));
        assert_eq!(failed, vec!["boom".to_string()]);
        assert_eq!(handled, vec![1, 66, 2]);
    }
}
