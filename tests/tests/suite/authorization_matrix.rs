//! Object-level authorization over every route that takes an id (#33): each route is called
//! by the other account's end user, agent and admin and by another end user of the same
//! account, who must get 404 (or 403 where the route is not for their role at all) and reach
//! nothing; then by the object's owner, the positive control, who must be served, so a route
//! that answers 404 to everyone fails here. Routes whose id names a person (`/end-users/{id}`)
//! are account-scoped: another account's admin gets an answer about their own account, which
//! must hold nothing of this one's.

use domain::model::Role;
use integration_tests::agents::agent;
use integration_tests::{json, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// One route: method, path with `{cid}`, `{aid}`, `{seq}`, `{webhook}`, `{integration}`,
/// `{kid}`, `{user}` filled in, its body, and who owns it (the role whose token is the control).
struct Route {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    owner: Owner,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Owner {
    EndUser,
    Agent,
    Admin,
}

fn route(method: Method, path: &'static str, body: Option<Value>, owner: Owner) -> Route {
    Route {
        method,
        path,
        body,
        owner,
    }
}

/// Every route of the table that takes an id, in an order where the destructive ones come
/// last (agent ids are names within the caller's own account, not objects: not listed).
fn routes() -> Vec<Route> {
    use Owner::*;
    let empty = || Some(json!({}));
    vec![
        route(Method::GET, "/v1/conversations/{cid}", None, EndUser),
        route(
            Method::GET,
            "/v1/conversations/{cid}/messages",
            None,
            EndUser,
        ),
        route(
            Method::POST,
            "/v1/conversations/{cid}/events",
            Some(json!({"type": "typing_start"})),
            EndUser,
        ),
        route(
            Method::PUT,
            "/v1/conversations/{cid}/visitor-context",
            Some(json!({"pages": []})),
            EndUser,
        ),
        route(
            Method::POST,
            "/v1/conversations/{cid}/csat",
            Some(json!({"score": 4, "comment": "fine"})),
            EndUser,
        ),
        route(
            Method::GET,
            "/v1/conversations/{cid}/attachments/{aid}",
            None,
            EndUser,
        ),
        route(
            Method::POST,
            "/v1/conversations/{cid}/attachments/{aid}/complete",
            empty(),
            EndUser,
        ),
        route(
            Method::POST,
            "/v1/conversations/{cid}/attachments",
            Some(json!({"file_name": "b.txt", "content_type": "text/plain", "size": 5})),
            EndUser,
        ),
        route(Method::GET, "/v1/conversations/{cid}/history", None, Agent),
        route(
            Method::GET,
            "/v1/end-users/{user}/conversations",
            None,
            Agent,
        ),
        route(
            Method::PATCH,
            "/v1/conversations/{cid}",
            Some(json!({"priority": "high"})),
            Agent,
        ),
        route(
            Method::POST,
            "/v1/conversations/{cid}/messages/{seq}/redact",
            empty(),
            Agent,
        ),
        route(
            Method::GET,
            "/v1/webhooks/{webhook}/deliveries",
            None,
            Admin,
        ),
        route(
            Method::POST,
            "/v1/conversations/{cid}/messages",
            Some(json!({"client_message_id": "again-1", "type": "text", "text": "back"})),
            EndUser,
        ),
        route(
            Method::POST,
            "/v1/conversations/{cid}/handoff",
            empty(),
            EndUser,
        ),
        route(
            Method::POST,
            "/v1/conversations/{cid}/accept",
            empty(),
            Agent,
        ),
        route(
            Method::POST,
            "/v1/conversations/{cid}/transfer",
            Some(json!({"group": "billing"})),
            Agent,
        ),
        route(Method::POST, "/v1/conversations/{cid}/end", empty(), Agent),
        route(
            Method::POST,
            "/v1/conversations/{cid}/close",
            empty(),
            Agent,
        ),
        route(Method::DELETE, "/v1/webhooks/{webhook}", None, Admin),
        route(Method::DELETE, "/v1/signing-keys/{kid}", None, Admin),
        route(
            Method::DELETE,
            "/v1/integrations/{integration}",
            None,
            Admin,
        ),
        route(Method::DELETE, "/v1/end-users/{user}", None, Admin),
    ]
}

async fn call(app: &TestApp, route: &Route, path: &str, token: &str) -> Reply {
    app.send_raw(
        route.method.clone(),
        path,
        Some(token),
        route.body.as_ref().map(|b| b.to_string().into_bytes()),
    )
    .await
}

#[tokio::test]
async fn every_route_that_takes_an_id_serves_its_owner_and_nobody_else() {
    let app = TestApp::start_live().await;
    let admin = app.token(Role::Admin, "admin-1");
    let agent_token = app.token(Role::Agent, "ag-1");
    let alice = app.token(Role::EndUser, "alice");
    super::csat::set_csat(&app, true).await;
    agent(&app, "ag-1", 3, &[], "online").await;
    // Alice's conversation, served and ended by ag-1 (so it carries a survey), with her
    // message at seq 1 and an admitted attachment.
    let cid = super::csat::ended_conversation(&app, "alice", "ag-1").await;
    super::csat::survey(&app, &cid, "alice", super::csat::STREAM_LAG)
        .await
        .expect("the survey follows the end");
    let sent = app.send_text(&cid, &alice, "first-1", "my order").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let seq = sent.body["message"]["seq"]
        .as_u64()
        .or_else(|| sent.body["seq"].as_u64())
        .unwrap_or_else(|| panic!("seq in {:?}", sent.body))
        .to_string();
    let admitted = app
        .post(
            &format!("/v1/conversations/{cid}/attachments"),
            &alice,
            json!({"file_name": "note.txt", "content_type": "text/plain", "size": 5}),
        )
        .await;
    assert_eq!(admitted.status, StatusCode::CREATED, "{:?}", admitted.body);
    let aid = admitted.body["attachment_id"].as_str().unwrap().to_string();
    let webhook = app
        .post(
            "/v1/webhooks",
            &admin,
            json!({"url": "https://hooks.example.com/relay", "events": ["ticket.closed"]}),
        )
        .await;
    assert_eq!(webhook.status, StatusCode::CREATED, "{:?}", webhook.body);
    let webhook = webhook.body["id"].as_str().unwrap().to_string();
    let integration = app
        .post(
            "/v1/integrations",
            &admin,
            json!({"name": "Bot", "scopes": ["bot"]}),
        )
        .await;
    assert_eq!(
        integration.status,
        StatusCode::CREATED,
        "{:?}",
        integration.body
    );
    let integration = integration.body["id"].as_str().unwrap().to_string();

    let kid = app.post("/v1/signing-keys", &admin, json!({})).await.body["kid"]
        .as_str()
        .expect("a new signing key")
        .to_string();
    let other = app.other_account.clone();
    let strangers = [
        (
            "another account's end user alice",
            other.token(Role::EndUser, "alice"),
            Role::EndUser,
        ),
        (
            "another account's agent ag-1",
            other.token(Role::Agent, "ag-1"),
            Role::Agent,
        ),
        (
            "another account's admin",
            other.token(Role::Admin, "admin-1"),
            Role::Admin,
        ),
        (
            "end user mallory",
            app.token(Role::EndUser, "mallory"),
            Role::EndUser,
        ),
    ];
    let mut served = 0;
    for route in routes() {
        let path = route
            .path
            .replace("{cid}", &cid)
            .replace("{aid}", &aid)
            .replace("{seq}", &seq)
            .replace("{webhook}", &webhook)
            .replace("{integration}", &integration)
            .replace("{kid}", &kid)
            .replace("{user}", "alice");
        for (who, token, role) in &strangers {
            let reply = call(&app, &route, &path, token).await;
            let about_a_person = route.path.starts_with("/v1/end-users/");
            if about_a_person && *role != Role::EndUser && reply.status.is_success() {
                // Their own account's "alice": nothing of this account's alice.
                let text = reply.body.to_string();
                assert!(
                    !text.contains(&cid),
                    "{who} {} {path}: {text}",
                    route.method
                );
                if route.method == Method::DELETE {
                    assert_eq!(reply.body["conversations"], 0, "{who}: {text}");
                }
                continue;
            }
            assert!(
                matches!(reply.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                "{who} {} {}: {} {:?}",
                route.method,
                route.path,
                reply.status,
                reply.body
            );
        }
        let owner = match route.owner {
            Owner::EndUser => &alice,
            Owner::Agent => &agent_token,
            Owner::Admin => &admin,
        };
        let reply = call(&app, &route, &path, owner).await;
        assert!(
            !matches!(
                reply.status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
            ) && !reply.status.is_server_error(),
            "the owner ({:?}) of {} {} was not served: {} {:?}",
            route.owner,
            route.method,
            route.path,
            reply.status,
            reply.body
        );
        served += 1;
    }
    assert_eq!(served, routes().len());
    assert!(served >= 22, "{served} routes");
    // The strangers' calls left nothing behind: the first session's rating is alice's own.
    let rated = app
        .backend
        .store
        .get_csat_request(&app.account.id, &cid, 1)
        .await
        .unwrap()
        .expect("the survey");
    assert_eq!(rated.score, Some(4));
}
