//! Hostile input, as property tests over every documented operation that takes a body: random
//! JSON, valid bodies with fields replaced by random JSON or extra fields added, and random
//! bytes, sent as every role. Criterion: never a panic or a 5xx; every error is JSON with a
//! stable `error.code`. Runs on the in-memory backend (the handlers are the same), so a few
//! thousand cases take seconds.

use bytes::Bytes;
use domain::model::Role;
use integration_tests::openapi::documented_operations;
use proptest::prelude::*;
use serde_json::{json, Value};
use use_cases::auth::mint_token;
use use_cases::backend::Backend;

const ACCOUNT: &str = "acct_fuzz";
const KID: &str = "k1";
const SECRET: &str = "fuzz-secret";

/// A backend with one conversation and one admitted attachment; returns it with their ids.
fn world() -> (Backend, String, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let backend = adapters::wiring::in_memory();
        backend
            .bootstrap_account(ACCOUNT, KID, SECRET)
            .await
            .unwrap();
        let created = call(
            &backend,
            "POST",
            "/v1/conversations",
            Role::EndUser,
            b"{}".to_vec(),
            None,
        )
        .await;
        let cid = created.1["id"].as_str().unwrap().to_string();
        let admitted = call(
            &backend,
            "POST",
            &format!("/v1/conversations/{cid}/attachments"),
            Role::EndUser,
            json!({"file_name": "a.txt", "content_type": "text/plain", "size": 5})
                .to_string()
                .into_bytes(),
            None,
        )
        .await;
        let aid = admitted.1["attachment_id"].as_str().unwrap().to_string();
        (backend, cid, aid)
    })
}

async fn call(
    backend: &Backend,
    method: &str,
    path: &str,
    role: Role,
    body: Vec<u8>,
    if_match: Option<&str>,
) -> (u16, Value) {
    let now = domain::now_ms() / 1000;
    let token = mint_token(ACCOUNT, KID, SECRET, "user-1", role, now, 600);
    let mut builder = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    if let Some(version) = if_match {
        builder = builder.header("if-match", version);
    }
    let request = builder.body(Bytes::from(body)).unwrap();
    let response = local_gateway::dispatch(backend, request).await;
    let status = response.status().as_u16();
    let body: Value = serde_json::from_str(response.body())
        .unwrap_or_else(|_| panic!("{method} {path}: response is not JSON: {}", response.body()));
    (status, body)
}

/// The settings version stored for the test account, as an `If-Match` value.
async fn current_version(backend: &Backend) -> String {
    let stored = backend.store.get_settings(ACCOUNT).await.unwrap();
    format!("\"{}\"", stored.map_or(0, |s| s.version))
}

/// A valid body for each operation, the starting point of the mutations.
fn valid_body(method: &str, template: &str) -> Value {
    match (method, template) {
        ("POST", "/v1/conversations/{cid}/messages") => {
            json!({"client_message_id": "f-1", "type": "text", "text": "hello"})
        }
        ("POST", "/v1/conversations/{cid}/events") => json!({"type": "read", "seq": 1}),
        ("POST", "/v1/conversations/{cid}/handoff") => json!({"reason": "help"}),
        ("POST", "/v1/conversations/{cid}/attachments") => {
            json!({"file_name": "b.pdf", "content_type": "application/pdf", "size": 10})
        }
        ("PUT", "/v1/agents/me/status") => json!({"status": "online"}),
        ("PUT", "/v1/agents/{agent_id}/capacity") => json!({"messaging": 2, "email": 1}),
        ("PUT", "/v1/agents/{agent_id}/groups") => json!({"groups": ["billing"]}),
        ("PATCH", "/v1/settings") => json!({"routing": {"method": "round_robin"}}),
        ("PUT", "/v1/settings/workspace") => {
            json!({"groups": ["billing"], "unconverted_chat_departments": 0, "help_center_articles": 12})
        }
        _ => json!({}),
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
        Just(json!("x".repeat(20_000))),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What a case sends: random JSON, a valid body with one field replaced or added, or bytes.
#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Mutated { field: String, value: Value },
    Bytes(Vec<u8>),
}

fn body_strategy() -> impl Strategy<Value = Body> {
    prop_oneof![
        arbitrary_json().prop_map(Body::Json),
        (
            prop_oneof![
                Just("client_message_id".to_string()),
                Just("type".to_string()),
                Just("text".to_string()),
                Just("rich".to_string()),
                Just("attachment_ids".to_string()),
                Just("seq".to_string()),
                Just("status".to_string()),
                Just("messaging".to_string()),
                Just("groups".to_string()),
                Just("size".to_string()),
                Just("file_name".to_string()),
                Just("account".to_string()),
                Just("role".to_string()),
                Just("assignee".to_string()),
                "[a-z_]{1,10}",
            ],
            arbitrary_json()
        )
            .prop_map(|(field, value)| Body::Mutated { field, value }),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Body::Bytes),
    ]
}

fn role_strategy() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::EndUser), Just(Role::Agent), Just(Role::Admin)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_bodies_get_4xx_json_errors_never_5xx(
        operation in any::<prop::sample::Index>(),
        body in body_strategy(),
        role in role_strategy(),
    ) {
        thread_local! {
            static WORLD: (Backend, String, String, tokio::runtime::Runtime) = {
                let (backend, cid, aid) = world();
                (backend, cid, aid, tokio::runtime::Runtime::new().unwrap())
            };
        }
        let operations: Vec<(String, String)> = documented_operations()
            .into_iter()
            .filter(|(method, _)| method != "GET")
            .collect();
        let (method, template) = operations[operation.index(operations.len())].clone();
        let bytes = match &body {
            Body::Json(value) => value.to_string().into_bytes(),
            Body::Mutated { field, value } => {
                let mut valid = valid_body(&method, &template);
                if let Value::Object(map) = &mut valid {
                    map.insert(field.clone(), value.clone());
                }
                valid.to_string().into_bytes()
            }
            Body::Bytes(raw) => raw.clone(),
        };
        let (status, reply) = WORLD.with(|(backend, cid, aid, runtime)| {
            let path = template
                .replace("{cid}", cid)
                .replace("{aid}", aid)
                .replace("{agent_id}", "agent-7");
            runtime.block_on(async {
                // The version stored now: a PATCH the mutation leaves valid is applied, so
                // the next one must name the new version to get past the 412 check.
                let if_match = current_version(backend).await;
                let if_match = (method == "PATCH").then_some(if_match.as_str());
                call(backend, &method, &path, role, bytes, if_match).await
            })
        });
        prop_assert!(status < 500, "{method} {template} as {role:?} with {body:?}: {status} {reply}");
        if status >= 400 {
            prop_assert!(
                reply["error"]["code"].as_str().is_some_and(|c| !c.is_empty()),
                "{method} {template}: error without a code: {reply}"
            );
        }
    }
}

/// The mutations start from bodies the API accepts (otherwise they would only probe the
/// first check).
#[test]
fn the_valid_bodies_are_accepted() {
    let (backend, cid, aid) = world();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let accepted = [
        ("POST", "/v1/conversations/{cid}/messages", Role::EndUser),
        ("POST", "/v1/conversations/{cid}/events", Role::EndUser),
        ("POST", "/v1/conversations/{cid}/handoff", Role::EndUser),
        ("POST", "/v1/conversations/{cid}/attachments", Role::EndUser),
        ("PUT", "/v1/agents/me/status", Role::Agent),
        ("PUT", "/v1/agents/{agent_id}/capacity", Role::Admin),
        ("PUT", "/v1/agents/{agent_id}/groups", Role::Admin),
        ("PATCH", "/v1/settings", Role::Admin),
        ("PUT", "/v1/settings/workspace", Role::Admin),
        ("POST", "/v1/conversations/{cid}/end", Role::Agent),
    ];
    for (method, template, role) in accepted {
        let path = template
            .replace("{cid}", &cid)
            .replace("{aid}", &aid)
            .replace("{agent_id}", "agent-7");
        let body = valid_body(method, template).to_string().into_bytes();
        let (status, reply) = runtime.block_on(async {
            let if_match = current_version(&backend).await;
            let if_match = (method == "PATCH").then_some(if_match.as_str());
            call(&backend, method, &path, role, body, if_match).await
        });
        assert!(
            (200..300).contains(&status),
            "{method} {template}: {status} {reply}"
        );
    }
}

/// A value a query parameter might be given: numbers at and past every limit, cursors,
/// dates, and any text at all.
fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("9999999999998".to_string()),
        Just("-1".to_string()),
        Just("latest".to_string()),
        Just("2026-11-22".to_string()),
        Just("2026-02-30".to_string()),
        Just("1970-01-01T00:00:00Z".to_string()),
        Just("mine".to_string()),
        Just("all".to_string()),
        "[A-Za-z0-9_=+/-]{0,64}",
        any::<String>(),
    ]
}

/// A query string of real and made-up parameter names, some repeated.
fn query_strategy() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("after_seq"),
        Just("before_seq"),
        Just("limit"),
        Just("cursor"),
        Just("view"),
        Just("after_revision"),
        Just("from"),
        Just("to"),
        Just("key"),
        Just("x"),
    ];
    prop::collection::vec((name, query_value()), 0..6).prop_map(|pairs| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            query.append_pair(name, &value);
        }
        query.finish()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// #19: every GET route, any query string, any role: never a 5xx; errors carry a code.
    #[test]
    fn hostile_query_strings_get_4xx_json_errors_never_5xx(
        operation in any::<prop::sample::Index>(),
        query in query_strategy(),
        role in role_strategy(),
    ) {
        thread_local! {
            static WORLD: (Backend, String, String, tokio::runtime::Runtime) = {
                let (backend, cid, aid) = world();
                (backend, cid, aid, tokio::runtime::Runtime::new().unwrap())
            };
        }
        let operations: Vec<(String, String)> = documented_operations()
            .into_iter()
            .filter(|(method, _)| method == "GET")
            .collect();
        let (method, template) = operations[operation.index(operations.len())].clone();
        let (status, reply) = WORLD.with(|(backend, cid, aid, runtime)| {
            let path = template
                .replace("{cid}", cid)
                .replace("{aid}", aid)
                .replace("{agent_id}", "agent-7")
                .replace("{user_id}", "user-1");
            let target = if query.is_empty() { path } else { format!("{path}?{query}") };
            runtime.block_on(call(backend, &method, &target, role, Vec::new(), None))
        });
        prop_assert!(status < 500, "GET {template}?{query} as {role:?}: {status} {reply}");
        if status >= 400 {
            prop_assert!(
                reply["error"]["code"].as_str().is_some_and(|c| !c.is_empty()),
                "GET {template}?{query}: error without a code: {reply}"
            );
        }
    }
}
