//! The deployed path of real time: the `realtime` function fed the WebSocket API's events as
//! API Gateway sends them (`$connect` with the token in the query, `$default` with a frame,
//! `$disconnect`), and the `fan-out` function fed a DynamoDB Streams event whose images are
//! items the DynamoDB adapter stored — on the emulator backend, frames caught in memory.

use domain::model::Role;
use edge::lambda::{ApiGatewayWebsocketProxyRequest, DynamoDbStreamEvent};
use integration_tests::live::{frame, stored_message_image, stream_record, with_sockets};
use integration_tests::{json, TestApp};
use serde_json::Value;
use use_cases::backend::Backend;

/// A WebSocket API proxy event for `route_key` on connection `connection_id`, shaped as API
/// Gateway sends it (the fields the function reads, and the ones around them).
fn websocket_event(
    route_key: &str,
    connection_id: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Value {
    let event_type = match route_key {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    let mut event = json!({
        "headers": {"Host": "abc123.execute-api.eu-west-1.amazonaws.com", "Sec-WebSocket-Version": "13"},
        "multiValueHeaders": {"Host": ["abc123.execute-api.eu-west-1.amazonaws.com"]},
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": "Xx1=",
            "requestTime": "22/Nov/2026:06:00:00 +0000",
            "messageDirection": "IN",
            "stage": "live",
            "connectedAt": 1_795_000_000_000_i64,
            "requestTimeEpoch": 1_795_000_000_100_i64,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "test"},
            "requestId": "Xx1=",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "connectionId": connection_id,
            "apiId": "abc123"
        },
        "isBase64Encoded": false
    });
    if let Some(token) = token {
        event["queryStringParameters"] = json!({ "token": token });
        event["multiValueQueryStringParameters"] = json!({ "token": [token] });
    }
    if let Some(body) = body {
        event["body"] = json!(body);
        event["requestContext"]["messageId"] = json!("m-1");
    }
    event
}

async fn through_realtime(backend: &Backend, event: Value) -> Value {
    let event: ApiGatewayWebsocketProxyRequest =
        serde_json::from_value(event).expect("the event AWS sends decodes");
    serde_json::to_value(realtime::handle(backend, event).await).unwrap()
}

#[tokio::test]
async fn websocket_events_connect_with_a_good_token_answer_frames_and_disconnect() {
    let app = TestApp::start().await;
    let connection_id = format!("Abc{}=", domain::ids::new_id("c"));
    let (backend, mut receivers) = with_sockets(&app, &[&connection_id]);

    for bad in [None, Some("not-a-jwt")] {
        let refused = through_realtime(
            &backend,
            websocket_event("$connect", &connection_id, bad, None),
        )
        .await;
        assert_eq!(refused["statusCode"], 401, "{refused}");
        assert!(refused["body"].as_str().unwrap().contains("\"code\""));
    }
    assert_eq!(
        backend.store.get_connection(&connection_id).await.unwrap(),
        None
    );

    let token = app.token(Role::Agent, "ag-1");
    let connected = through_realtime(
        &backend,
        websocket_event("$connect", &connection_id, Some(&token), None),
    )
    .await;
    assert_eq!(connected["statusCode"], 200, "{connected}");
    let stored = backend
        .store
        .get_connection(&connection_id)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(stored.listener.user_id, "ag-1");

    let ping = websocket_event(
        "$default",
        &connection_id,
        None,
        Some(r#"{"action":"ping"}"#),
    );
    assert_eq!(through_realtime(&backend, ping).await["statusCode"], 200);
    assert_eq!(frame(receivers[0].recv().await)["type"], "pong");
    let junk = websocket_event("$default", &connection_id, None, Some("{not json"));
    assert_eq!(through_realtime(&backend, junk).await["statusCode"], 200);
    let error = frame(receivers[0].recv().await);
    assert_eq!(error["type"], "error");
    assert_eq!(error["data"]["code"], "invalid_frame");

    let gone = through_realtime(
        &backend,
        websocket_event("$disconnect", &connection_id, None, None),
    )
    .await;
    assert_eq!(gone["statusCode"], 200);
    assert_eq!(
        backend.store.get_connection(&connection_id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn stream_event_of_stored_items_reaches_the_readers_and_a_bad_record_is_retried_from() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let reply = app
        .send_text(&cid, &app.token(Role::EndUser, "eu-1"), "c1", "hello")
        .await;
    assert_eq!(reply.status, reqwest::StatusCode::CREATED);
    let connection_id = domain::ids::new_id("ws");
    let (backend, mut receivers) = with_sockets(&app, &[&connection_id]);
    use_cases::realtime::connect(
        backend.store.as_ref(),
        domain::realtime::Listener {
            account_id: app.account.id.clone(),
            user_id: "eu-1".into(),
            role: Role::EndUser,
        },
        &connection_id,
        domain::now_ms(),
        &backend.limits,
    )
    .await
    .unwrap();

    let mut message = stored_message_image(&app, &cid).await;
    // Its writer pushed it (to nobody yet) and the fan-out would leave it alone: this is the
    // image of a message left to the stream (written while an earlier one was on its way).
    assert!(message["direct_push_seq"].is_object(), "{message}");
    message.as_object_mut().unwrap().remove("direct_push_seq");
    let mut broken = message.clone();
    broken.as_object_mut().unwrap().remove("author_role");
    let event = json!({"Records": [
        stream_record("100", None, Some(&message)),
        stream_record("200", None, Some(&broken)),
        stream_record("300", None, Some(&message)),
    ]});
    let event: DynamoDbStreamEvent =
        serde_json::from_value(event).expect("the event AWS sends decodes");
    let answer = serde_json::to_value(fan_out::handle(&backend, event).await).unwrap();
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "200"}])
    );
    let delivered = frame(receivers[0].recv().await);
    assert_eq!(delivered["type"], "message.created");
    assert_eq!(delivered["data"]["message"]["text"], "hello");
    // Nothing after the bad record was delivered: Lambda retries from it.
    assert!(receivers[0].try_recv().is_err());

    let clean = json!({"Records": [stream_record("300", None, Some(&message))]});
    let clean: DynamoDbStreamEvent = serde_json::from_value(clean).unwrap();
    let answer = serde_json::to_value(fan_out::handle(&backend, clean).await).unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert_eq!(
        frame(receivers[0].recv().await)["id"],
        delivered["id"],
        "the same frame id on redelivery"
    );
}
