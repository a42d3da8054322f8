//! The SDK configuration Lambda functions build from the variables Lambda sets
//! (`adapters::wiring::lambda_environment_config`): the region and keys it was given, and the
//! SDK's standard retries (a throttled call is tried again), as the full loader would give.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use aws_sdk_dynamodb::config::ProvideCredentials;
use aws_sdk_dynamodb::types::AttributeValue::S;
use integration_tests::faults::{Fault, FaultProxy};
use shared::adapters::wiring::lambda_environment_config;

fn lambda_variables() -> HashMap<&'static str, String> {
    HashMap::from([
        ("AWS_REGION", "eu-west-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_string()),
        ("AWS_SESSION_TOKEN", "session-token".to_string()),
    ])
}

#[tokio::test]
async fn lambda_variables_give_region_keys_and_session_token() {
    let variables = lambda_variables();
    let sdk = lambda_environment_config(|name| variables.get(name).cloned())
        .expect("Lambda's variables are enough");
    assert_eq!(
        sdk.region().map(|r| r.to_string()).as_deref(),
        Some("eu-west-1")
    );
    let credentials = sdk
        .credentials_provider()
        .expect("a provider")
        .provide_credentials()
        .await
        .unwrap();
    assert_eq!(credentials.access_key_id(), "ASIAEXAMPLE");
    assert_eq!(credentials.session_token(), Some("session-token"));
    // Without a key, or with an emulator endpoint, the full loader decides.
    let mut partial = lambda_variables();
    partial.remove("AWS_SECRET_ACCESS_KEY");
    assert!(lambda_environment_config(|name| partial.get(name).cloned()).is_none());
    let mut emulated = lambda_variables();
    emulated.insert("AWS_ENDPOINT_URL", "http://127.0.0.1:4566".into());
    assert!(lambda_environment_config(|name| emulated.get(name).cloned()).is_none());
}

#[tokio::test]
async fn a_client_of_that_configuration_retries_a_throttled_call() {
    let proxy = FaultProxy::start(&integration_tests::endpoint(), 9).await;
    proxy.fail_next("DynamoDB_20120810.PutItem", Fault::Throttle, 2);
    let mut variables = lambda_variables();
    // The emulator's resources are in its default region.
    variables.insert("AWS_REGION", "us-east-1".into());
    let sdk = lambda_environment_config(|name| variables.get(name).cloned()).unwrap();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(&proxy.url)
            .build(),
    );
    let table = &integration_tests::provisioned().await.table_name;
    client
        .put_item()
        .table_name(table)
        .item(
            "pk",
            S(format!("lambda-config#{}", shared::ids::new_id("t"))),
        )
        .item("sk", S("x".into()))
        .send()
        .await
        .expect("stored after two throttled attempts");
    assert_eq!(proxy.counts().throttled.load(Ordering::Relaxed), 2);
}
