//! Webhook subscriptions and their delivery log.

use super::*;
use domain::webhooks::{
    create_subscription, AttemptOutcome, DeliveryAttempt, NewSubscription, WebhookEventType,
};

pub async fn webhook_subscriptions_log_attempts_and_disable_after_a_run_of_failures(
    store: Arc<dyn Store>,
) {
    let (account, other) = (fresh_account(), fresh_account());
    let make = |account: &str, at: i64| {
        create_subscription(
            account,
            "admin-1",
            NewSubscription {
                url: "https://hooks.example.com/relay".into(),
                events: vec![WebhookEventType::MessageCreated],
            },
            false,
            at,
        )
        .unwrap()
    };
    let ((first, first_secret), (second, second_secret), (foreign, foreign_secret)) =
        (make(&account, 10), make(&account, 20), make(&other, 5));
    for (subscription, secret) in [
        (&second, &second_secret),
        (&first, &first_secret),
        (&foreign, &foreign_secret),
    ] {
        store
            .create_subscription(subscription, secret)
            .await
            .unwrap();
    }
    // Each secret is found under its own subscription and account only.
    assert_eq!(
        store
            .subscription_secret(&account, &first.id)
            .await
            .unwrap(),
        Some(first_secret.clone())
    );
    assert_ne!(first_secret, second_secret);
    assert_eq!(
        store
            .subscription_secret(&account, &foreign.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_subscription(&account, &first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.get_subscription(&account, &foreign.id).await.unwrap(),
        None
    );
    let ids: Vec<String> = store
        .list_subscriptions(&account)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [first.id.clone(), second.id.clone()]);

    // The log lists the newest attempts first.
    for (attempt, at, outcome) in [
        (1, 1_000, AttemptOutcome::Retrying),
        (2, 2_000, AttemptOutcome::Retrying),
        (3, 3_000, AttemptOutcome::Delivered),
    ] {
        store
            .record_attempt(&DeliveryAttempt {
                account_id: account.clone(),
                subscription_id: first.id.clone(),
                event_id: "evt_1".into(),
                event_type: WebhookEventType::MessageCreated,
                attempt,
                status_code: Some(if attempt == 3 { 200 } else { 500 }),
                error: None,
                outcome,
                at,
            })
            .await
            .unwrap();
    }
    let log = store.list_attempts(&account, &first.id, 2).await.unwrap();
    let attempts: Vec<u32> = log.iter().map(|a| a.attempt).collect();
    assert_eq!(attempts, [3, 2]);
    assert_eq!(log[0].status_code, Some(200));
    assert!(store
        .list_attempts(&account, &second.id, 10)
        .await
        .unwrap()
        .is_empty());

    // Failures in a row disable it at the limit; a delivery in between starts the run over.
    let outcome = |delivered| {
        let store = store.clone();
        let (account, id) = (account.clone(), second.id.clone());
        async move {
            store
                .record_outcome(&account, &id, delivered, 2, 7_000)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(outcome(false).await.consecutive_failures, 1);
    assert_eq!(outcome(true).await.consecutive_failures, 0);
    assert_eq!(outcome(false).await.disabled_at, None);
    let disabled = outcome(false).await;
    assert_eq!(
        (disabled.consecutive_failures, disabled.disabled_at),
        (2, Some(7_000))
    );
    assert!(!disabled.wants(WebhookEventType::MessageCreated));

    // Failed attempts in a row pause it at the limit, and the run starts over (#32 item 6); a
    // delivered event resets the run.
    let failed = || {
        let store = store.clone();
        let (account, id) = (account.clone(), first.id.clone());
        async move {
            store
                .record_failed_attempt(&account, &id, 3, 9_000)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(failed().await.failed_attempts, 1);
    assert_eq!(failed().await.paused_until, None);
    let paused = failed().await;
    assert_eq!(
        (paused.failed_attempts, paused.paused_until),
        (0, Some(9_000))
    );
    assert_eq!(failed().await.failed_attempts, 1);
    let reset = store
        .record_outcome(&account, &first.id, true, 2, 9_500)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reset.failed_attempts, 0);
    assert!(store
        .record_failed_attempt(&account, "wh_gone", 3, 9_000)
        .await
        .unwrap()
        .is_none());

    assert!(store
        .delete_subscription(&account, &first.id)
        .await
        .unwrap());
    assert!(!store
        .delete_subscription(&account, &first.id)
        .await
        .unwrap());
    assert_eq!(
        store
            .record_outcome(&account, &first.id, false, 2, 8_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_subscription(&account, &first.id).await.unwrap(),
        None
    );
    // Its secret went with it.
    assert_eq!(
        store
            .subscription_secret(&account, &first.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.list_subscriptions(&other).await.unwrap().len(), 1);
}
