//! Agent-side steps the routing and session tests share: capacities, status, handoffs,
//! offers and accept, all through HTTP.

use domain::model::{Priority, Role};
use reqwest::StatusCode;
use serde_json::json;

use crate::{Reply, TestApp};

/// Gives `agent` a messaging capacity and groups (as an admin), then sets its status.
pub async fn agent(app: &TestApp, id: &str, capacity: u32, groups: &[&str], status: &str) {
    agent_with_capacity(app, id, (capacity, 0), groups, status).await;
}

/// Gives `agent` (messaging, email) capacities and groups (as an admin), then sets its status.
pub async fn agent_with_capacity(
    app: &TestApp,
    id: &str,
    (messaging, email): (u32, u32),
    groups: &[&str],
    status: &str,
) {
    let admin = app.token(Role::Admin, "admin-1");
    let reply = app
        .put(
            &format!("/v1/agents/{id}/capacity"),
            &admin,
            json!({"messaging": messaging, "email": email}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let reply = app
        .put(
            &format!("/v1/agents/{id}/groups"),
            &admin,
            json!({"groups": groups}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    set_status(app, id, status).await;
}

/// The agent's (messaging, email) load, as `GET /v1/agents/me` shows it.
pub async fn load(app: &TestApp, id: &str) -> (u64, u64) {
    let me = app.get("/v1/agents/me", &app.token(Role::Agent, id)).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    (
        me.body["load"]["messaging"]
            .as_u64()
            .expect("messaging load"),
        me.body["load"]["email"].as_u64().expect("email load"),
    )
}

pub async fn set_status(app: &TestApp, id: &str, status: &str) {
    let reply = app
        .put(
            "/v1/agents/me/status",
            &app.token(Role::Agent, id),
            json!({"status": status}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

/// A conversation handed off to agents (routing requested), with a priority and group.
/// Priority and group are set by an admin through `PATCH /v1/conversations/{cid}`.
pub async fn waiting(app: &TestApp, user: &str, priority: Priority, group: Option<&str>) -> String {
    let cid = app.new_conversation(user).await;
    if priority != Priority::Normal || group.is_some() {
        let reply = app
            .patch(
                &format!("/v1/conversations/{cid}"),
                &app.token(Role::Admin, "admin"),
                json!({"priority": priority, "group": group}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
    let reply = app
        .post(
            &format!("/v1/conversations/{cid}/handoff"),
            &app.token(Role::EndUser, user),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    cid
}

pub async fn offers(app: &TestApp, agent: &str) -> Vec<String> {
    let reply = app
        .get("/v1/agents/me/offers", &app.token(Role::Agent, agent))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["conversation_id"].as_str().unwrap().to_string())
        .collect()
}

pub async fn offered_to(app: &TestApp, cid: &str) -> Option<String> {
    app.stored_conversation(cid).await.offer.map(|o| o.agent_id)
}

pub async fn accept(app: &TestApp, agent: &str, cid: &str) -> Reply {
    app.post(
        &format!("/v1/conversations/{cid}/accept"),
        &app.token(Role::Agent, agent),
        json!({}),
    )
    .await
}
