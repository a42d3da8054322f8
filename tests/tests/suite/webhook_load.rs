//! Webhooks under load and faults (R29): a thousand events to one receiver, and deliveries
//! whose AWS calls fail, all arrive.

use std::time::Duration;

use super::webhooks::{subscribe, Answer, Receiver};
use domain::model::Role;
use integration_tests::{json, TestApp};

#[tokio::test]
async fn a_thousand_events_to_one_subscriber_all_arrive() {
    // On the in-memory backend, the same use cases and a real receiver: through moto's stream
    // (whose every read walks all the changes since the table was created) 1,000 events took
    // six minutes on a busy emulator; the emulator tests above cover the AWS adapters.
    let app = TestApp::start_in_memory().await;
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"bot": {"enabled": false}}),
    )
    .await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    subscribe(&app, &receiver.url(), &["message.created"]).await;
    let (cid, token) = (
        app.new_conversation("eu-1").await,
        app.token(Role::EndUser, "eu-1"),
    );
    use futures::stream::{self, StreamExt};
    stream::iter(1..=1000u64)
        .for_each_concurrent(16, |n| {
            let (app, cid, token) = (&app, &cid, &token);
            async move { app.post_until_stored(cid, token, n).await }
        })
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    let ids = loop {
        let ids: std::collections::BTreeSet<String> = receiver
            .received()
            .iter()
            .map(|r| r.json()["id"].as_str().unwrap().to_string())
            .collect();
        if ids.len() >= 1000 || tokio::time::Instant::now() >= deadline {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Copies are allowed (at least once), loss is not: 1,000 distinct events, one per message.
    assert_eq!(ids.len(), 1000);
    let seqs: std::collections::BTreeSet<u64> = receiver
        .received()
        .iter()
        .map(|r| r.json()["data"]["message"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=1000).collect());
}

#[tokio::test]
async fn deliveries_whose_aws_calls_fail_still_deliver_every_event() {
    let _slot = integration_tests::heavy_test_slot().await;
    let proxy = integration_tests::faults::FaultProxy::start(
        &integration_tests::endpoint(),
        integration_tests::faults::seed_from_env(),
    )
    .await;
    println!("fault seed {} (FAULT_SEED replays it)", proxy.seed());
    let app = TestApp::start_live_with(&proxy.url, Default::default()).await;
    app.patch_settings(
        &app.token(Role::Admin, "admin-1"),
        json!({"bot": {"enabled": false}}),
    )
    .await;
    let receiver = Receiver::start(vec![], Answer::Status(200)).await;
    subscribe(&app, &receiver.url(), &["message.created"]).await;
    let (cid, token) = (
        app.new_conversation("eu-1").await,
        app.token(Role::EndUser, "eu-1"),
    );
    // From here a tenth of the calls to AWS fail: the fan-out's, the delivery function's
    // (subscription reads, the log, the queue), and the posts (retried as a client would).
    proxy.set_fault_share(0.1);
    for n in 1..=20 {
        app.post_until_stored(&cid, &token, n).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(150);
    let seqs = loop {
        let seqs: std::collections::BTreeSet<u64> = receiver
            .received()
            .iter()
            .map(|r| r.json()["data"]["message"]["seq"].as_u64().unwrap())
            .collect();
        if seqs.len() >= 20 || tokio::time::Instant::now() >= deadline {
            break seqs;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    proxy.set_fault_share(0.0);
    assert!(proxy.counts().faults() > 0, "no fault was injected");
    assert_eq!(
        seqs,
        (1..=20).collect(),
        "seed {}: faults {}",
        proxy.seed(),
        proxy.counts().summary()
    );
}
