//! The deployed path: each function's Lambda entry (`edge::lambda::answer_http_event` /
//! `answer_sqs_event`, what `run_http` / `run_sqs` hand every event to) fed the JSON that AWS
//! sends, on the emulator backend, must answer what the local gateway answers for the same
//! request. Events are in API Gateway's HTTP API payload format 2.0 (with a named stage, a
//! base64 body and a repeated query key) and in SQS's Lambda event format, with an S3
//! notification as the body where S3 announces an upload.

use base64::Engine;
use domain::model::Role;
use edge::api::ApiRequest;
use edge::lambda::{answer_http_event, Context, LambdaEvent, LambdaRequest};
use edge::routes::{self, Resolution};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use use_cases::backend::Backend;

/// An HTTP API (payload 2.0) event as API Gateway sends it for `method path?query` on stage
/// `stage`: the stage in `rawPath` (named stages only), lower-case headers, the body base64
/// encoded when `base64` (as API Gateway does for binary media types), `routeKey` and
/// `pathParameters` from the route the template declares.
pub(super) struct HttpApiEvent {
    /// The function the template routes the path to (API Gateway's choice).
    function: &'static str,
    pub(super) json: Value,
}

pub(super) fn http_api_event(
    stage: &str,
    method: &str,
    path: &str,
    query: &str,
    token: Option<&str>,
    body: Option<&str>,
    base64: bool,
) -> HttpApiEvent {
    let function = routes::function_for(method, path)
        .unwrap_or_else(|| panic!("API Gateway routes no function for {method} {path}"));
    let raw_path = if stage == "$default" {
        path.to_string()
    } else {
        format!("/{stage}{path}")
    };
    let (route_key, path_parameters) = match routes::resolve(method, path) {
        Resolution::Found(matched) => {
            let names = ["cid", "aid", "agent_id"];
            let parameters: serde_json::Map<String, Value> = names
                .iter()
                .filter(|n| !matched.param(n).is_empty())
                .map(|n| (n.to_string(), json!(matched.param(n))))
                .collect();
            (
                format!("ANY {}", matched.route.pattern),
                Some(Value::Object(parameters)),
            )
        }
        _ => ("$default".to_string(), None),
    };
    let mut headers = serde_json::Map::new();
    headers.insert("accept".into(), json!("application/json"));
    headers.insert(
        "content-length".into(),
        json!(body.map_or(0, str::len).to_string()),
    );
    headers.insert(
        "host".into(),
        json!("abc123.execute-api.us-east-1.amazonaws.com"),
    );
    headers.insert("user-agent".into(), json!("relay-widget/1.0"));
    headers.insert(
        "x-amzn-trace-id".into(),
        json!("Root=1-67891233-abcdef012345678912345678"),
    );
    headers.insert("x-forwarded-for".into(), json!("203.0.113.7"));
    headers.insert("x-forwarded-port".into(), json!("443"));
    headers.insert("x-forwarded-proto".into(), json!("https"));
    if let Some(token) = token {
        headers.insert("authorization".into(), json!(format!("Bearer {token}")));
    }
    if body.is_some() {
        headers.insert("content-type".into(), json!("application/json"));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "relay-widget/1.0"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": route_key,
            "stage": stage,
            "time": "22/Nov/2026:03:30:00 +0000",
            "timeEpoch": 1_795_318_200_000_i64
        },
        "isBase64Encoded": base64
    });
    if let Some(parameters) =
        path_parameters.filter(|p| p.as_object().is_some_and(|o| !o.is_empty()))
    {
        event["pathParameters"] = parameters;
    }
    if !query.is_empty() {
        // API Gateway joins repeated keys with commas here; rawQueryString keeps them apart.
        let mut joined: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            joined
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
        event["queryStringParameters"] = json!(joined
            .into_iter()
            .map(|(k, v)| (k, json!(v.join(","))))
            .collect::<serde_json::Map<String, Value>>());
    }
    if let Some(body) = body {
        event["body"] = if base64 {
            json!(base64::engine::general_purpose::STANDARD.encode(body))
        } else {
            json!(body)
        };
    }
    HttpApiEvent {
        function,
        json: event,
    }
}

pub(crate) fn context() -> Context {
    let mut context = Context::default();
    context.request_id = "8f5e2a1c-0b7d-4c1e-9a55-3f1b2c4d5e6f".into();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:relay-function".into();
    context
}

/// What the path's function answers under Lambda: status, headers and JSON body of the
/// API Gateway response it returns.
pub(super) struct LambdaAnswer {
    pub(super) status: u16,
    pub(super) headers: Value,
    pub(super) body: Value,
}

pub(super) async fn through_lambda(backend: &Backend, event: HttpApiEvent) -> LambdaAnswer {
    let HttpApiEvent { function, json } = event;
    let payload: LambdaRequest = serde_json::from_value(json).expect("lambda_http reads the event");
    // The function's handler, the one its `main.rs` hands to `run_http`.
    let handler = move |backend: Backend, request: ApiRequest| async move {
        local_gateway::call_function(function, &backend, request).await
    };
    let answer = answer_http_event(backend, &handler, LambdaEvent::new(payload, context()))
        .await
        .expect("the Lambda entry answers every event");
    let answer = serde_json::to_value(answer).expect("the answer serializes");
    let text = answer["body"].as_str().unwrap_or_default();
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text).unwrap_or_else(|_| panic!("body is JSON: {answer}"))
    };
    assert_eq!(answer["isBase64Encoded"], false, "{answer}");
    LambdaAnswer {
        status: answer["statusCode"].as_u64().expect("statusCode") as u16,
        headers: answer["headers"].clone(),
        body,
    }
}

/// The same request through the local gateway: status and body.
async fn through_gateway(
    app: &TestApp,
    method: &str,
    path_and_query: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let reply = app
        .send_raw(
            method,
            path_and_query,
            token,
            body.map(|b| b.as_bytes().to_vec()),
        )
        .await;
    (reply.status.as_u16(), reply.body)
}

#[tokio::test]
async fn http_api_events_on_a_named_stage_get_the_gateways_answers_from_each_function() {
    let app = TestApp::start().await;
    let backend = &app.backend;
    let alice = app.token(Role::EndUser, "alice");
    let agent = app.token(Role::Agent, "ag-1");
    let admin = app.token(Role::Admin, "admin-1");

    // A write through Lambda (base64 body, stage "prod"), visible through the gateway.
    let created = through_lambda(
        backend,
        http_api_event(
            "prod",
            "POST",
            "/v1/conversations",
            "",
            Some(&alice),
            Some("{}"),
            true,
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.headers["content-type"], "application/json");
    assert!(created.headers["x-request-id"]
        .as_str()
        .is_some_and(|id| id.starts_with("req_")));
    let cid = created.body["id"]
        .as_str()
        .expect("conversation id")
        .to_string();
    let (status, seen) = through_gateway(
        &app,
        "GET",
        &format!("/v1/conversations/{cid}"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!((status, &seen), (200, &created.body));

    // Two messages through Lambda, one base64, one plain text body.
    for (i, base64) in [(1, true), (2, false)] {
        let body = json!({"client_message_id": format!("m-{i}"), "type": "text", "text": format!("hello {i}")}).to_string();
        let posted = through_lambda(
            backend,
            http_api_event(
                "prod",
                "POST",
                &format!("/v1/conversations/{cid}/messages"),
                "",
                Some(&alice),
                Some(&body),
                base64,
            ),
        )
        .await;
        assert_eq!(posted.status, 201, "{}", posted.body);
        assert_eq!(posted.body["message"]["seq"], i);
    }

    // Reads answer the same both ways, on the default stage and a named one; a repeated
    // query key (`limit=1&limit=2`) is read the same way.
    let reads: Vec<(&str, String, &str, &str)> = vec![
        (
            "GET",
            format!("/v1/conversations/{cid}/messages"),
            "after_seq=0&limit=1&limit=2",
            alice.as_str(),
        ),
        (
            "GET",
            format!("/v1/conversations/{cid}/messages"),
            "after_seq=1",
            alice.as_str(),
        ),
        ("GET", "/v1/conversations".to_string(), "", alice.as_str()),
        (
            "GET",
            format!("/v1/conversations/{cid}"),
            "",
            agent.as_str(),
        ),
        (
            "GET",
            "/v1/agents/me/offers".to_string(),
            "",
            agent.as_str(),
        ),
        (
            "GET",
            format!("/v1/conversations/{cid}/attachments/att_0123456789abcdef0123456789abcdef"),
            "",
            alice.as_str(),
        ),
        (
            "GET",
            "/v1/settings/messaging-readiness".to_string(),
            "",
            admin.as_str(),
        ),
        // The agent workspace.
        (
            "GET",
            "/v1/inbox".to_string(),
            "view=all&limit=5",
            admin.as_str(),
        ),
        (
            "GET",
            "/v1/inbox".to_string(),
            "view=waiting",
            agent.as_str(),
        ),
        (
            "GET",
            format!("/v1/conversations/{cid}/history"),
            "",
            agent.as_str(),
        ),
        (
            "GET",
            "/v1/end-users/alice/conversations".to_string(),
            "",
            agent.as_str(),
        ),
        // The knowledge base: a search with its query string, as API Gateway passes it.
        (
            "GET",
            "/v1/articles/search".to_string(),
            "q=remboursement&locale=fr&limit=3",
            alice.as_str(),
        ),
        ("GET", "/v1/articles".to_string(), "", agent.as_str()),
        // Integrations and the satisfaction report.
        ("GET", "/v1/integrations".to_string(), "", admin.as_str()),
        ("GET", "/v1/signing-keys".to_string(), "", admin.as_str()),
        ("GET", "/v1/signing-keys".to_string(), "", agent.as_str()),
        (
            "GET",
            "/v1/reports/csat".to_string(),
            "from=2026-01-01&to=2026-01-31",
            admin.as_str(),
        ),
        (
            "GET",
            "/v1/reports/messaging".to_string(),
            "from=2026-01-01&to=2026-01-31&group_by=agent",
            admin.as_str(),
        ),
        // Refusals: wrong role (an agent's settings, an end user ending a session), bad JSON.
        ("GET", "/v1/settings".to_string(), "", agent.as_str()),
        ("GET", "/v1/inbox".to_string(), "view=all", agent.as_str()),
        (
            "POST",
            format!("/v1/conversations/{cid}/end"),
            "",
            alice.as_str(),
        ),
    ];
    for stage in ["$default", "prod"] {
        for (method, path, query, token) in &reads {
            let lambda = through_lambda(
                backend,
                http_api_event(stage, method, path, query, Some(token), None, false),
            )
            .await;
            let target = if query.is_empty() {
                path.clone()
            } else {
                format!("{path}?{query}")
            };
            let (status, body) = through_gateway(&app, method, &target, Some(token), None).await;
            assert_eq!(
                (lambda.status, &lambda.body),
                (status, &body),
                "{stage}: {method} {target}"
            );
        }
    }

    // A path two functions share: PATCH reaches the workspace, a wrong method its owner.
    let patched = through_lambda(
        backend,
        http_api_event(
            "prod",
            "PATCH",
            &format!("/v1/conversations/{cid}"),
            "",
            Some(&admin),
            Some(r#"{"tags": ["vip"], "priority": "high"}"#),
            true,
        ),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let (_, seen) = through_gateway(
        &app,
        "GET",
        &format!("/v1/conversations/{cid}"),
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(seen["priority"], "high");
    assert_eq!(seen["tags"], json!(["via_messaging", "vip"]));
    let shared_path = through_lambda(
        backend,
        http_api_event(
            "prod",
            "DELETE",
            &format!("/v1/conversations/{cid}"),
            "",
            Some(&admin),
            None,
            false,
        ),
    )
    .await;
    assert_eq!(shared_path.status, 405, "{}", shared_path.body);
    assert_eq!(shared_path.headers["allow"], "GET, PATCH");

    // An integration key minted through Lambda works through Lambda at once.
    let minted = through_lambda(
        backend,
        http_api_event(
            "prod",
            "POST",
            "/v1/integrations",
            "",
            Some(&admin),
            Some(r#"{"name": "Answer bot", "scopes": ["bot"]}"#),
            true,
        ),
    )
    .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let key = minted.body["key"].as_str().expect("the key, once");
    let read_by_bot = through_lambda(
        backend,
        http_api_event(
            "prod",
            "GET",
            &format!("/v1/conversations/{cid}/messages"),
            "after_seq=0",
            Some(key),
            None,
            false,
        ),
    )
    .await;
    assert_eq!(read_by_bot.status, 200, "{}", read_by_bot.body);
    assert_eq!(read_by_bot.body["messages"][1]["text"], "hello 2");

    // Bodies the edge refuses: malformed JSON (base64 too), no token, wrong method, oversize.
    let malformed = through_lambda(
        backend,
        http_api_event(
            "prod",
            "POST",
            &format!("/v1/conversations/{cid}/messages"),
            "",
            Some(&alice),
            Some("{not json"),
            true,
        ),
    )
    .await;
    assert_eq!(
        (malformed.status, malformed.body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let anonymous = through_lambda(
        backend,
        http_api_event("prod", "GET", "/v1/conversations", "", None, None, false),
    )
    .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let wrong_method = through_lambda(
        backend,
        http_api_event(
            "prod",
            "DELETE",
            &format!("/v1/conversations/{cid}/messages"),
            "",
            Some(&alice),
            None,
            false,
        ),
    )
    .await;
    assert_eq!(wrong_method.status, 405, "{}", wrong_method.body);
    assert_eq!(wrong_method.headers["allow"], "GET, POST");
    let huge = " ".repeat(300 * 1024);
    let oversize = through_lambda(
        backend,
        http_api_event(
            "prod",
            "POST",
            "/v1/conversations",
            "",
            Some(&alice),
            Some(&huge),
            true,
        ),
    )
    .await;
    assert_eq!(oversize.status, StatusCode::PAYLOAD_TOO_LARGE.as_u16());

    // What Lambda wrote is what the gateway lists, and nothing else was stored.
    let stored = app.stored_messages(&cid).await;
    assert_eq!(stored.len(), 2);
}

/// An SQS event as Lambda delivers it: `Records` with `messageId`, `receiptHandle`, `body`,
/// string attributes and the queue's ARN.
#[tokio::test]
async fn the_widget_apis_lambda_entry_answers_browsers_and_counts_visitors_by_source_ip() {
    let app = TestApp::start().await;
    let admin = app.token(Role::Admin, "admin-1");
    let key = app.get("/v1/settings", &admin).await.body["settings"]["widget"]["key"]
        .as_str()
        .expect("widget key")
        .to_string();
    let shop = "https://shop.example";
    app.patch_settings(&admin, json!({"widget": {"allowed_origins": [shop]}}))
        .await;

    // A preflight from the shop's page.
    let mut preflight = http_api_event(
        "prod",
        "OPTIONS",
        "/v1/widget/visitors",
        "",
        None,
        None,
        false,
    );
    preflight.json["headers"]["origin"] = json!(shop);
    preflight.json["headers"]["access-control-request-method"] = json!("POST");
    let payload: LambdaRequest = serde_json::from_value(preflight.json).expect("event");
    let handler = |backend: Backend, request: ApiRequest| async move {
        local_gateway::call_function(routes::WIDGET_API, &backend, request).await
    };
    let answer = answer_http_event(&app.backend, &handler, LambdaEvent::new(payload, context()))
        .await
        .expect("answered");
    let answer = serde_json::to_value(answer).expect("serializes");
    assert_eq!(answer["statusCode"], 204, "{answer}");
    assert_eq!(answer["headers"]["access-control-allow-origin"], shop);

    // The visitor itself: created, readable by the page, counted for API Gateway's sourceIp.
    let body = json!({"widget_key": key}).to_string();
    let mut event = http_api_event(
        "prod",
        "POST",
        "/v1/widget/visitors",
        "",
        None,
        Some(&body),
        false,
    );
    event.json["headers"]["origin"] = json!(shop);
    let created = through_lambda(&app.backend, event).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.headers["access-control-allow-origin"], shop);
    let rate = app.backend.limits.visitor_rate;
    let (window, _) = rate.window(domain::now_ms());
    let counted = app
        .backend
        .store
        .count_visitor_signup(
            &app.account.id,
            "203.0.113.7",
            (window, window + rate.window_ms),
        )
        .await
        .expect("counter");
    // This count and the previous window's together hold the event's visitor whether or not
    // the minute turned in between (each count adds one).
    let before = app
        .backend
        .store
        .count_visitor_signup(
            &app.account.id,
            "203.0.113.7",
            (window - rate.window_ms, window),
        )
        .await
        .expect("counter");
    assert_eq!(
        counted + before,
        3,
        "the event's visitor was counted for its sourceIp"
    );
}
