//! `relay-admin` on the emulator (#35): the commands run in-process through the binary's own
//! entry (`relay_admin::run`), on the same environment variables the functions read.
//! create-account → its admin token works against the gateway in AWS mode → keys create → a
//! token under the new key works → keys revoke → refused; doctor passes on a provisioned stack
//! and names a deleted queue; redrive of a dead-lettered routing request gets the
//! conversation offered.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use domain::model::Priority;
use integration_tests::agents::{agent, offered_to, waiting};
use integration_tests::{emulator_config, fresh_webhook_queue_urls, TestApp};
use reqwest::StatusCode;
use use_cases::ports::Queue;

/// The environment the functions of `app` run with.
fn env_of(app: &TestApp) -> BTreeMap<String, String> {
    let config = app.config.as_ref().expect("an emulator app");
    [
        ("TABLE_NAME", config.table_name.clone()),
        ("ROUTING_QUEUE_URL", config.routing_queue_url.clone()),
        (
            "SETTINGS_EFFECTS_QUEUE_URL",
            config.settings_effects_queue_url.clone(),
        ),
        ("ATTACHMENTS_BUCKET", config.attachments_bucket.clone()),
        (
            "ATTACHMENT_EVENTS_QUEUE_URL",
            config.attachment_events_queue_url.clone(),
        ),
        ("WEBHOOK_QUEUE_URL", config.webhook_queue_url.clone()),
        ("REACTIONS_QUEUE_URL", config.reactions_queue_url.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Runs `relay-admin args…` with `env`; (exit code, stdout).
async fn admin(env: &BTreeMap<String, String>, args: &[&str]) -> (u8, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let lookup = |name: &str| env.get(name).cloned();
    let mut out = Vec::new();
    let code = match relay_admin::run(&args, &lookup, &mut out).await {
        Ok(()) => 0,
        Err(error) => {
            out.extend_from_slice(format!("error: {error}\n").as_bytes());
            error.exit_code()
        }
    };
    (code, String::from_utf8(out).expect("UTF-8 output"))
}

/// The value of `name: value` in `output`.
fn field(output: &str, name: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {output}"))
        .to_string()
}

#[tokio::test]
async fn an_operator_creates_an_account_and_manages_its_keys() {
    let app = TestApp::start().await;
    let env = env_of(&app);
    let account = domain::ids::new_id("acct");
    let (code, created) = admin(
        &env,
        &["create-account", "--account", &account, "--name", "Acme"],
    )
    .await;
    assert_eq!(code, 0, "{created}");
    let admin_token = field(&created, "admin_token");
    assert!(field(&created, "widget_key").starts_with(&format!("wk.{account}.")));
    // The admin token works against the gateway in AWS mode, for the new account.
    let settings = app.get("/v1/settings", &admin_token).await;
    assert_eq!(settings.status, StatusCode::OK, "{:?}", settings.body);
    assert_eq!(
        settings.body["settings"]["widget"]["key"],
        field(&created, "widget_key")
    );
    // The same account again is refused, exit 2, nothing changed.
    let (again, output) = admin(&env, &["create-account", "--account", &account]).await;
    assert_eq!(again, 2, "{output}");
    assert_eq!(
        app.get("/v1/settings", &admin_token).await.status,
        StatusCode::OK
    );

    // A key of its own, and a token under it.
    let (code, key) = admin(&env, &["keys", "create", "--account", &account]).await;
    assert_eq!(code, 0, "{key}");
    let kid = field(&key, "kid");
    let (code, token) = admin(
        &env,
        &[
            "token",
            "--account",
            &account,
            "--kid",
            &kid,
            "--role",
            "agent",
            "--sub",
            "ops-agent",
        ],
    )
    .await;
    assert_eq!(code, 0, "{token}");
    let token = token.trim().to_string();
    assert_eq!(
        app.get("/v1/inbox?view=mine", &token).await.status,
        StatusCode::OK
    );
    let (_, listed) = admin(&env, &["keys", "list", "--account", &account]).await;
    assert!(listed.contains(&kid), "{listed}");
    assert!(
        !listed.contains(&field(&key, "secret")),
        "a secret was listed"
    );

    // Revoked: refused within the key cache's 5 s in a function that had read it.
    let (code, output) = admin(
        &env,
        &["keys", "revoke", "--account", &account, "--kid", &kid],
    )
    .await;
    assert_eq!(code, 0, "{output}");
    let revoked_at = Instant::now();
    while app.get("/v1/inbox?view=mine", &token).await.status != StatusCode::UNAUTHORIZED {
        assert!(
            revoked_at.elapsed() < Duration::from_secs(7),
            "the revoked key still works"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The first key still works.
    assert_eq!(
        app.get("/v1/settings", &admin_token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_secret_file_is_written_for_its_owner_only() {
    let app = TestApp::start().await;
    let env = env_of(&app);
    let path = std::env::temp_dir().join(domain::ids::new_id("secret"));
    let path_text = path.to_string_lossy().to_string();
    let (code, output) = admin(
        &env,
        &[
            "keys",
            "create",
            "--account",
            &app.account.id,
            "--secret-file",
            &path_text,
        ],
    )
    .await;
    assert_eq!(code, 0, "{output}");
    let secret = std::fs::read_to_string(&path).expect("the secret file");
    assert!(secret.trim().len() >= 64);
    assert!(
        !output.contains(secret.trim()),
        "the secret was printed too"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn doctor_passes_on_a_provisioned_stack_and_names_a_deleted_queue() {
    let prefix = format!("doc{}", &domain::ids::new_id("x")[2..10]);
    let sdk = emulator_config().await;
    let resources = infra::definition(&prefix);
    let provisioned = infra::ensure(&sdk, &resources).await.expect("provision");
    let mut env = BTreeMap::new();
    env.insert("TABLE_NAME".to_string(), provisioned.table_name.clone());
    env.insert(
        "ATTACHMENTS_BUCKET".to_string(),
        provisioned.bucket_name.clone(),
    );
    for queue in &resources.queues {
        env.insert(
            queue.env_var.to_string(),
            provisioned
                .queue_url(queue.logical_id)
                .expect("queue")
                .to_string(),
        );
    }
    let (code, output) = admin(&env, &["doctor"]).await;
    assert_eq!(code, 0, "{output}");
    assert!(output.starts_with("ok"), "{output}");
    assert!(output.contains("the HTTP API was not checked"), "{output}");

    // With the API's URL, the API is checked too: a gateway of this product answers…
    let app = TestApp::start().await;
    env.insert("API_URL".to_string(), app.base_url.clone());
    let (code, output) = admin(&env, &["doctor"]).await;
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("ok: the HTTP API at"), "{output}");
    // …and nothing listening is named, with how to fix it.
    env.insert("API_URL".to_string(), "http://127.0.0.1:9".to_string());
    let (code, output) = admin(&env, &["doctor"]).await;
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("problem: http://127.0.0.1:9"), "{output}");
    assert!(output.contains("no answer"), "{output}");
    env.remove("API_URL");

    // A dead-letter queue deleted: named, with how to fix it; exit 1.
    let dlq = provisioned
        .queue_url("RoutingDeadLetterQueue")
        .expect("dlq");
    aws_sdk_sqs::Client::new(&sdk)
        .delete_queue()
        .queue_url(dlq)
        .send()
        .await
        .expect("delete the queue");
    let (code, output) = admin(&env, &["doctor"]).await;
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(&format!("{prefix}-routing-dlq")),
        "{output}"
    );
    assert!(output.contains("fix:"), "{output}");
    // And a variable not set is named too.
    env.remove("WEBHOOK_QUEUE_URL");
    let (_, output) = admin(&env, &["doctor"]).await;
    assert!(output.contains("WEBHOOK_QUEUE_URL"), "{output}");
}

#[tokio::test]
async fn redrive_brings_a_dead_lettered_routing_request_back_and_the_conversation_is_offered() {
    let app = TestApp::start().await;
    agent(&app, "ag-1", 2, &[], "online").await;
    let cid = waiting(&app, "eu-1", Priority::Normal, None).await;
    // The routing request, as it would sit in the dead-letter queue after five failed receives.
    // (The agent's coming online queued requests of its own: they are taken away too.)
    let mut request = None;
    for _ in 0..5 {
        for message in app.routing_queue.receive(10).await.expect("receive") {
            app.routing_queue
                .acknowledge(&message.receipt)
                .await
                .expect("ack");
            if message.body.contains(&cid) {
                request = Some(message);
            }
        }
    }
    let request = [request.expect("the conversation's routing request")];
    let (queue, dead) = fresh_webhook_queue_urls().await;
    let sqs = aws_sdk_sqs::Client::new(&emulator_config().await);
    sqs.send_message()
        .queue_url(&dead)
        .message_body(&request[0].body)
        .send()
        .await
        .expect("dead-letter it");
    assert_eq!(offered_to(&app, &cid).await, None);

    let mut env = env_of(&app);
    env.insert("ROUTING_QUEUE_URL".to_string(), queue.clone());
    let (code, output) = admin(&env, &["redrive", "routing"]).await;
    assert_eq!(code, 0, "{output}");
    assert!(output.starts_with("1 message(s) moved back"), "{output}");
    // The router's next receive of that queue offers the conversation.
    let source = adapters::sqs::SqsQueue::new(sqs.clone(), queue);
    let batch = source.receive(10).await.expect("receive");
    assert_eq!(batch.len(), 1);
    let failed = route_conversation::handle_batch(&app.backend, &batch).await;
    assert!(failed.is_empty());
    assert_eq!(offered_to(&app, &cid).await.as_deref(), Some("ag-1"));
    // Nothing is left in the dead-letter queue: a second redrive moves nothing.
    let (_, output) = admin(&env, &["redrive", "routing"]).await;
    assert!(output.starts_with("0 message(s)"), "{output}");
}
