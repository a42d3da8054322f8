//! Email continuation's store (R35): an account's secret is made once whoever races, grants
//! are found by their token id, dropped mail is listed newest first.

use std::sync::Arc;

use super::fresh_account;
use crate::ports::{EmailFailure, Store};
use domain::email::reply_token::mint;

pub async fn an_email_secret_is_made_once_and_grants_and_failures_round_trip(
    store: Arc<dyn Store>,
) {
    let account = fresh_account();
    assert_eq!(store.email_secret(&account).await.unwrap(), None);
    let made = store.create_email_secret(&account, b"first").await.unwrap();
    assert_eq!(made, b"first");
    let raced = store
        .create_email_secret(&account, b"second")
        .await
        .unwrap();
    assert_eq!(raced, b"first", "the first writer's secret stays");
    assert_eq!(
        store.email_secret(&account).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );

    let (grant, _token) = mint(b"first", &account, "c_1", 1_000);
    store.put_reply_grant(&grant).await.unwrap();
    assert_eq!(
        store.reply_grant(&grant.token_id).await.unwrap(),
        Some(grant.clone())
    );
    let (other, _) = mint(b"first", &account, "c_1", 1_000);
    assert_eq!(store.reply_grant(&other.token_id).await.unwrap(), None);

    // Failures of every test share one list: find this test's own, in order.
    let failures: Vec<EmailFailure> = (1..=3)
        .map(|n| EmailFailure {
            object_key: format!("e/in/{account}/{n}"),
            reason: "forged_token".into(),
            account_id: (n == 2).then(|| account.clone()),
            failed_at: domain::now_ms() + n,
        })
        .collect();
    for failure in &failures {
        store.record_email_failure(failure).await.unwrap();
    }
    let listed: Vec<EmailFailure> = store
        .email_failures(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.object_key.contains(&account))
        .collect();
    let expected: Vec<EmailFailure> = failures.into_iter().rev().collect();
    assert_eq!(listed, expected);
    assert_eq!(store.email_failures(1).await.unwrap().len(), 1);
}
