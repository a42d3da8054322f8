//! Queues: at-least-once delivery until acknowledged, batches, delays.

use super::*;

pub async fn queue_delivers_sent_messages_until_acknowledged(queue: Arc<dyn Queue>) {
    let body = format!("{{\"n\":\"{}\"}}", new_id("q"));
    queue.send(&body, 0).await.unwrap();
    let received = queue.receive(10).await.unwrap();
    let ours: Vec<_> = received.iter().filter(|m| m.body == body).collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].receive_count, 1);
    assert!(!ours[0].message_id.is_empty());
    for m in &received {
        queue.acknowledge(&m.receipt).await.unwrap();
    }
    let again = queue.receive(10).await.unwrap();
    assert!(again.iter().all(|m| m.body != body));
}

pub async fn batch_sent_messages_are_each_delivered_once(queue: Arc<dyn Queue>) {
    // More than one SQS batch (10), and one delayed entry that must stay invisible for now.
    let run = new_id("b");
    let mut batch: Vec<(String, u32)> = (0..13)
        .map(|i| (format!("{{\"batch\":\"{run}\",\"n\":{i}}}"), 0))
        .collect();
    let delayed = format!("{{\"batch\":\"{run}\",\"n\":\"later\"}}");
    batch.push((delayed.clone(), 60));
    queue.send_batch(&batch).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let received = queue.receive(10).await.unwrap();
        for m in &received {
            queue.acknowledge(&m.receipt).await.unwrap();
        }
        seen.extend(received.into_iter().map(|m| m.body));
        if seen.iter().filter(|b| b.contains(&run)).count() >= 13 {
            break;
        }
    }
    let mut ours: Vec<&String> = seen.iter().filter(|b| b.contains(&run)).collect();
    ours.sort();
    let mut expected: Vec<&String> = batch[..13].iter().map(|(b, _)| b).collect();
    expected.sort();
    assert_eq!(
        ours, expected,
        "every immediate entry once, the delayed one not yet"
    );
}

pub async fn delayed_queue_message_is_invisible_until_its_delay_passes(queue: Arc<dyn Queue>) {
    let body = format!("{{\"delayed\":\"{}\"}}", new_id("q"));
    queue.send(&body, 2).await.unwrap();
    let early = queue.receive(10).await.unwrap();
    assert!(early.iter().all(|m| m.body != body));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let mut seen = false;
    for _ in 0..5 {
        for m in queue.receive(10).await.unwrap() {
            seen |= m.body == body;
            queue.acknowledge(&m.receipt).await.unwrap();
        }
        if seen {
            break;
        }
    }
    assert!(seen, "delayed message never became visible");
}

pub async fn a_message_retried_after_a_delay_comes_back_then_with_its_count_up(
    queue: Arc<dyn Queue>,
) {
    let body = format!("{{\"retried\":\"{}\"}}", new_id("q"));
    queue.send(&body, 0).await.unwrap();
    let first = queue
        .receive(10)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.body == body)
        .expect("received");
    queue.retry_after(&first.receipt, 2).await.unwrap();
    // Not back before its delay (the queue's own visibility is longer, so only the delay can
    // bring it back this soon).
    assert!(queue
        .receive(10)
        .await
        .unwrap()
        .iter()
        .all(|m| m.body != body));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let mut again = None;
    for _ in 0..5 {
        if let Some(m) = queue
            .receive(10)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.body == body)
        {
            again = Some(m);
            break;
        }
    }
    let again = again.expect("the retried message came back after its delay");
    assert_eq!(again.receive_count, 2);
    assert_eq!(again.message_id, first.message_id);
    queue.acknowledge(&again.receipt).await.unwrap();
}

/// R32: a body SQS cannot carry as written (U+FFFF, U+FFFE) is escaped to the same JSON and
/// delivered; a body over SQS's 256 KiB is refused, on every queue adapter alike.
pub async fn queue_bodies_keep_to_what_sqs_carries(queue: Arc<dyn Queue>) {
    let value = serde_json::json!({"text": "odd \u{ffff} \u{fffe} end"});
    queue
        .send(&serde_json::to_string(&value).unwrap(), 0)
        .await
        .unwrap();
    queue
        .send_batch(&[(serde_json::to_string(&value).unwrap(), 0)])
        .await
        .unwrap();
    let mut received = Vec::new();
    for _ in 0..20 {
        received.extend(queue.receive(10).await.unwrap());
        if received.len() >= 2 {
            break;
        }
    }
    assert_eq!(received.len(), 2);
    for message in &received {
        assert!(
            domain::aws_limits::check_sqs_body(&message.body).is_ok(),
            "{:?}",
            message.body
        );
        let back: serde_json::Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(back, value);
        queue.acknowledge(&message.receipt).await.unwrap();
    }
    let oversize = format!("\"{}\"", "x".repeat(256 * 1024));
    assert!(queue.send(&oversize, 0).await.is_err());
    assert!(queue.send_batch(&[(oversize, 0)]).await.is_err());
}
