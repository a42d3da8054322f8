//! Harness for the integration tests: every test talks HTTP to a real local gateway whose
//! backend is DynamoDB/SQS on the emulator at `AWS_ENDPOINT_URL` (default
//! `http://127.0.0.1:4566`). If no emulator answers, tests fail; they never skip.
//!
//! Each [`TestApp`] has its own accounts (random ids) and its own routing queue, so tests run in
//! parallel on one emulator without seeing each other's data.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use aws_config::SdkConfig;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::OnceCell;

use adapters::wiring::behavior_version;
use domain::ids::new_id;
use domain::model::Role;
use use_cases::auth::mint_token;
use use_cases::backend::Backend;
use use_cases::ports::Queue;

pub use serde_json::json;

pub mod agents;
pub mod attachments;
pub mod browser;
mod consumers;
pub mod faults;
pub mod files;
pub mod live;
pub mod openapi;
pub mod server_log;

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";

/// The emulator endpoint the suite runs against.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.into())
}

/// SDK configuration for the emulator (fixed test credentials and region).
pub async fn emulator_config() -> SdkConfig {
    config_at(&endpoint()).await
}

/// SDK configuration for an endpoint in front of the emulator (e.g. a fault proxy).
pub async fn config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(behavior_version())
        .http_client(adapters::http_client::https_client(Some(endpoint)))
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

static PROVISIONED: OnceCell<infra::Provisioned> = OnceCell::const_new();

/// Creates the product's resources on the emulator once per test binary.
pub async fn provisioned() -> &'static infra::Provisioned {
    PROVISIONED
        .get_or_init(|| async {
            let config = emulator_config().await;
            infra::ensure(&config, &infra::definition(infra::DEFAULT_PREFIX))
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot reach or provision the AWS emulator at {}: {e}\n\
                         start one with `bash localstack/start-emulator.sh`",
                        endpoint()
                    )
                })
        })
        .await
}

/// A queue of the test's own, created on the emulator.
pub async fn fresh_queue_url() -> String {
    let sqs = aws_sdk_sqs::Client::new(&emulator_config().await);
    sqs.create_queue()
        .queue_name(new_id("test-q"))
        .send()
        .await
        .expect("create a test queue on the emulator")
        .queue_url
        .expect("queue url")
}

/// A webhook queue of the test's own with its dead-letter queue, as the product's (the redrive
/// policy dead-letters a job after its last attempt): (queue URL, dead-letter queue URL).
pub async fn fresh_webhook_queue_urls() -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(&emulator_config().await);
    let dead = fresh_queue_url().await;
    let dead_arn = sqs
        .get_queue_attributes()
        .queue_url(&dead)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("dead-letter queue attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("dead-letter queue arn");
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dead_arn,
        "maxReceiveCount": domain::webhooks::MAX_ATTEMPTS.to_string(),
    });
    let queue = sqs
        .create_queue()
        .queue_name(new_id("test-wh"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            redrive.to_string(),
        )
        .send()
        .await
        .expect("create a test webhook queue")
        .queue_url
        .expect("queue url");
    (queue, dead)
}

/// Webhook deliveries in the tests: loopback receivers allowed (they run on 127.0.0.1), a
/// receiver that does not answer gives up after 2 s, and retries wait at most 1 s instead of
/// up to 15 minutes.
pub const QUICK_WEBHOOKS: local_gateway::WebhookDelivery = local_gateway::WebhookDelivery {
    allow_loopback: true,
    timeout: std::time::Duration::from_secs(2),
    retry: use_cases::webhook_delivery::RetryPolicy { max_delay_secs: 1 },
};

/// A tenant created for one test.
#[derive(Clone)]
pub struct TestAccount {
    pub id: String,
    pub kid: String,
    pub secret: String,
}

impl TestAccount {
    /// A valid token for `sub` with `role`, valid for an hour.
    pub fn token(&self, role: Role, sub: &str) -> String {
        let now = domain::now_ms() / 1000;
        mint_token(&self.id, &self.kid, &self.secret, sub, role, now, 3600)
    }

    /// A token of `role` for `sub` with `extra` claims (a `name`, an `email`, a wrong one),
    /// valid for ten minutes.
    pub fn token_with_claims(&self, role: Role, sub: &str, extra: serde_json::Value) -> String {
        let now = domain::now_ms() / 1000;
        let mut claims = serde_json::json!({"acct": self.id, "sub": sub, "role": role.as_str(), "exp": now + 600, "iat": now});
        if let Some(extra) = extra.as_object() {
            for (k, v) in extra {
                claims[k] = v.clone();
            }
        }
        use_cases::auth::sign_parts(
            &serde_json::json!({"alg": "HS256", "kid": self.kid, "typ": "JWT"}),
            &claims,
            &self.secret,
        )
    }
}

/// A running gateway on the emulator backend, with two accounts.
pub struct TestApp {
    pub base_url: String,
    pub backend: Backend,
    pub account: TestAccount,
    pub other_account: TestAccount,
    pub routing_queue: Arc<dyn Queue>,
    /// The functions' configuration, when the app made its own resources (`start_at`).
    pub config: Option<adapters::config::FunctionConfig>,
    pub(crate) http: reqwest::Client,
}

static HEAVY_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The fault and load tests each drive the emulator as hard as they can for a minute; each
/// holds this slot so that they never run at the same time (the suite is one test binary whose
/// tests run in parallel), and their figures and deadlines mean what they say.
pub async fn heavy_test_slot() -> tokio::sync::MutexGuard<'static, ()> {
    HEAVY_TESTS.lock().await
}

/// A helper that receives from a queue behind a fault proxy retries this many failed receives
/// in a row before it gives up (with faults on 10% of requests, 20 in a row never happens).
const MAX_HELPER_RECEIVE_FAILURES: u32 = 20;

/// A response as a test sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    /// For a 5xx: what the gateway logged (warnings and errors) while answering it.
    pub server_log: Vec<String>,
}

impl Reply {
    pub fn new(status: StatusCode, headers: &reqwest::header::HeaderMap, body: Value) -> Reply {
        let server_log = match headers
            .get(edge::api::REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            Some(request_id) if status.is_server_error() => server_log::lines_of(request_id),
            _ => Vec::new(),
        };
        Reply {
            status,
            body,
            server_log,
        }
    }

    /// The stable error code of an error reply.
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }
}

impl TestApp {
    /// Starts a gateway on a free loopback port backed by the emulator.
    pub async fn start() -> TestApp {
        Self::start_at(&endpoint()).await
    }

    /// Starts a gateway whose functions reach the emulator through `aws_endpoint` (a proxy).
    pub async fn start_at(aws_endpoint: &str) -> TestApp {
        let provisioned = provisioned().await;
        let sdk = config_at(aws_endpoint).await;
        // Queues of this app's own, so parallel tests never take each other's messages.
        let config = adapters::config::FunctionConfig {
            table_name: provisioned.table_name.clone(),
            routing_queue_url: fresh_queue_url().await,
            settings_effects_queue_url: fresh_queue_url().await,
            attachments_bucket: provisioned.bucket_name.clone(),
            // S3 announces uploads on the provisioned queue; this app's validator listens on a
            // queue of its own, so tests decide when notifications are handled.
            attachment_events_queue_url: fresh_queue_url().await,
            webhook_queue_url: fresh_webhook_queue_urls().await.0,
            reactions_queue_url: fresh_queue_url().await,
            realtime_endpoint: None,
            // No email by default: the followup tests link SES themselves.
            email: None,
        };
        let backend = adapters::wiring::aws(&sdk, &config, adapters::wiring::ALL_SERVICES);
        let mut app = Self::start_with(
            backend,
            Arc::new(adapters::sqs::SqsQueue::new(
                aws_sdk_sqs::Client::new(&sdk),
                config.routing_queue_url.clone(),
            )),
        )
        .await;
        app.config = Some(config);
        app
    }

    /// Starts a gateway on `backend`, whose routing queue is also reachable as `routing_queue`.
    /// The in-process router stays off: tests read the routing queue or run the router.
    pub async fn start_with(backend: Backend, routing_queue: Arc<dyn Queue>) -> TestApp {
        Self::start_local(backend, local_gateway::Local::default(), routing_queue).await
    }

    /// The product on the in-memory backend, as `cargo run -p local-gateway` runs it (without
    /// its router: tests run it).
    pub async fn start_in_memory() -> TestApp {
        let (backend, local) = local_gateway::in_memory();
        let routing_queue = backend.routing_queue.clone();
        Self::start_local(backend, local, routing_queue).await
    }

    /// [`TestApp::start_with`] with what the gateway serves locally (an in-memory bucket's
    /// URLs, a change feed it runs the fan-out from): `local_gateway::in_memory()`.
    pub async fn start_local(
        backend: Backend,
        local: local_gateway::Local,
        routing_queue: Arc<dyn Queue>,
    ) -> TestApp {
        Self::start_with_consumers(
            backend,
            local,
            routing_queue,
            local_gateway::Consumers {
                router: false,
                webhooks: crate::QUICK_WEBHOOKS,
            },
        )
        .await
    }

    /// A gateway on the emulator whose in-process router consumes the routing queue, as
    /// `cargo run -p local-gateway` does.
    pub async fn start_routing() -> TestApp {
        let app = Self::start().await;
        Self::start_with_consumers(
            app.backend.clone(),
            local_gateway::Local::default(),
            app.routing_queue.clone(),
            local_gateway::Consumers {
                router: true,
                webhooks: crate::QUICK_WEBHOOKS,
            },
        )
        .await
    }

    pub async fn start_with_consumers(
        backend: Backend,
        local: local_gateway::Local,
        routing_queue: Arc<dyn Queue>,
        consumers: local_gateway::Consumers,
    ) -> TestApp {
        server_log::install();
        let account = Self::create_account(&backend).await;
        let other_account = Self::create_account(&backend).await;
        let (addr, _server) = local_gateway::start_with(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            backend.clone(),
            local,
            consumers,
        )
        .await
        .expect("bind a loopback port");
        TestApp {
            base_url: format!("http://{addr}"),
            backend,
            account,
            other_account,
            routing_queue,
            config: None,
            http: reqwest::Client::new(),
        }
    }

    async fn create_account(backend: &Backend) -> TestAccount {
        let account = TestAccount {
            id: new_id("acct"),
            kid: "k1".into(),
            secret: new_id("secret"),
        };
        backend
            .bootstrap_account(&account.id, &account.kid, &account.secret)
            .await
            .expect("bootstrap a test account");
        account
    }

    pub fn token(&self, role: Role, sub: &str) -> String {
        self.account.token(role, sub)
    }

    /// [`TestAccount::token_with_claims`] of the app's account.
    pub fn token_with_claims(&self, role: Role, sub: &str, extra: serde_json::Value) -> String {
        self.account.token_with_claims(role, sub, extra)
    }

    /// Sends a request with optional bearer token and raw body.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("gateway reachable");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        // A 204 has no body at all; everything else answers JSON.
        let body = if status == StatusCode::NO_CONTENT && text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("response is not JSON ({status}): {text}"))
        };
        Reply::new(status, &headers, body)
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send_raw(
            Method::POST,
            path,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send_raw(
            Method::PUT,
            path,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send_raw(
            Method::PATCH,
            path,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send_raw(Method::GET, path, Some(token), None).await
    }

    /// Creates a conversation as end user `sub`; returns its id.
    pub async fn new_conversation(&self, sub: &str) -> String {
        let reply = self
            .post(
                "/v1/conversations",
                &self.token(Role::EndUser, sub),
                json!({}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["id"]
            .as_str()
            .expect("conversation id")
            .to_string()
    }

    /// Posts a text message; returns the reply.
    pub async fn send_text(
        &self,
        cid: &str,
        token: &str,
        client_message_id: &str,
        text: &str,
    ) -> Reply {
        self.post(
            &format!("/v1/conversations/{cid}/messages"),
            token,
            json!({"client_message_id": client_message_id, "type": "text", "text": text}),
        )
        .await
    }

    /// Posts text message number `n` (`m-{n}`, "message {n}") as a client would: a 503
    /// (contention on one conversation, or a fault) is retried with the same id, anything
    /// else but success fails the test.
    pub async fn post_until_stored(&self, cid: &str, token: &str, n: u64) {
        for _ in 0..50 {
            let reply = self
                .send_text(cid, token, &format!("m-{n}"), &format!("message {n}"))
                .await;
            if reply.status == StatusCode::CREATED || reply.status == StatusCode::OK {
                return;
            }
            assert_eq!(
                reply.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{:?}",
                reply.body
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("message {n} was never stored");
    }

    /// Everything stored for the conversation, read straight from the store (not via HTTP).
    pub async fn stored_messages(&self, cid: &str) -> Vec<domain::model::Message> {
        self.backend
            .store
            .list_messages(&self.account.id, cid, 0, 10_000)
            .await
            .expect("read stored messages")
    }

    /// The conversation as stored.
    pub async fn stored_conversation(&self, cid: &str) -> domain::model::Conversation {
        self.backend
            .store
            .get_conversation(&self.account.id, cid)
            .await
            .expect("read conversation")
            .expect("conversation exists")
    }

    /// Patches the account's settings as `admin_token` at the current version; expects 200.
    /// The conversation's messages as `token` reads them, once there are at least `wanted`
    /// (or after 10 s, whatever there is: the caller's assertion says what was missing).
    pub async fn messages_when(&self, cid: &str, token: &str, wanted: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let reply = self
                .get(
                    &format!("/v1/conversations/{cid}/messages?after_seq=0"),
                    token,
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
            let messages = reply.body["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if messages.len() >= wanted || tokio::time::Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The account's public widget configuration (`GET /v1/widget/config` with its key).
    pub async fn widget_config(&self) -> Value {
        let admin = self.token(Role::Admin, "admin-1");
        let settings = self.get("/v1/settings", &admin).await;
        let key = settings.body["settings"]["widget"]["key"]
            .as_str()
            .expect("every account has a widget key")
            .to_string();
        let config = self
            .send_raw(
                Method::GET,
                &format!("/v1/widget/config?key={key}"),
                None,
                None,
            )
            .await;
        assert_eq!(config.status, StatusCode::OK, "{:?}", config.body);
        config.body
    }

    pub async fn patch_settings(&self, admin_token: &str, patch: Value) -> Reply {
        let version = self.get("/v1/settings", admin_token).await.body["version"].to_string();
        let response = self
            .http
            .patch(format!("{}/v1/settings", self.base_url))
            .bearer_auth(admin_token)
            .header("if-match", version)
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string())
            .send()
            .await
            .expect("gateway reachable");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.expect("JSON reply");
        let reply = Reply::new(status, &headers, body);
        assert_eq!(status, StatusCode::OK, "settings patch refused: {reply:?}");
        reply
    }
}

/// A queue that records what is sent to it (and sends nothing on): what a fan-out step queued.
#[derive(Default)]
pub struct RecordingQueue {
    pub sent: std::sync::Mutex<Vec<(String, u32)>>,
}

#[async_trait::async_trait]
impl Queue for RecordingQueue {
    async fn send(&self, body: &str, delay_seconds: u32) -> Result<(), use_cases::StoreError> {
        self.sent
            .lock()
            .expect("recording queue lock")
            .push((body.to_string(), delay_seconds));
        Ok(())
    }
    async fn receive(
        &self,
        _max: u32,
    ) -> Result<Vec<use_cases::ports::ReceivedMessage>, use_cases::StoreError> {
        Ok(Vec::new())
    }
    async fn acknowledge(&self, _receipt: &str) -> Result<(), use_cases::StoreError> {
        Ok(())
    }
    async fn retry_after(&self, _receipt: &str, _delay: u32) -> Result<(), use_cases::StoreError> {
        Ok(())
    }
}

/// Lambda's SQS event JSON for `records` (message id, receipt handle, body, receive count), as
/// the event source mapping sends it to a consumer.
pub fn sqs_event(records: &[(String, String, String, u32)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, receipt, body, receive_count)| {
            serde_json::json!({
                "messageId": id,
                "receiptHandle": receipt,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": receive_count.to_string(),
                    "SentTimestamp": "1795318200000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795318200010"
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:relay-routing",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}
