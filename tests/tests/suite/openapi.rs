//! docs/openapi.yaml stays in step with the routes the gateway serves: every documented
//! operation reaches a handler (401 without a token, not 404/405), and every served route is
//! documented.

use integration_tests::documented_operations;
use local_gateway::dispatch;
use shared::api::ApiRequest;
use shared::backend::Backend;

fn request(method: &str, path: &str) -> ApiRequest {
    http::Request::builder()
        .method(method)
        .uri(path)
        .body(Default::default())
        .unwrap()
}

const SAMPLE_CID: &str = "c_0123456789abcdef0123456789abcdef";
const SAMPLE_AID: &str = "att_0123456789abcdef0123456789abcdef";

fn concrete(path: &str) -> String {
    path.replace("{cid}", SAMPLE_CID)
        .replace("{aid}", SAMPLE_AID)
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let backend = Backend::in_memory();
    let operations = documented_operations();
    assert!(!operations.is_empty());
    for (method, path) in operations {
        let response = dispatch(&backend, request(&method, &concrete(&path))).await;
        assert_eq!(
            response.status(),
            401,
            "{method} {path}: {}",
            response.body()
        );
    }
}

#[tokio::test]
async fn undocumented_operations_are_not_served() {
    let backend = Backend::in_memory();
    let documented = documented_operations();
    let candidates = [
        "/v1/conversations",
        "/v1/conversations/{cid}",
        "/v1/conversations/{cid}/messages",
        "/v1/conversations/{cid}/events",
        "/v1/conversations/{cid}/handoff",
        "/v1/conversations/{cid}/attachments",
        "/v1/conversations/{cid}/attachments/{aid}",
        "/v1/conversations/{cid}/attachments/{aid}/complete",
        "/v1/conversations/{cid}/accept",
        "/v1/conversations/{cid}/end",
        "/v1/conversations/{cid}/close",
        "/v1/agents/me",
        "/v1/agents/me/status",
        "/v1/agents/me/offers",
        "/v1/agents/{agent_id}/capacity",
        "/v1/agents/{agent_id}/groups",
        "/v1/settings",
        "/v1/settings/audit",
        "/v1/settings/messaging-readiness",
        "/v1/settings/workspace",
    ];
    for path in candidates {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.contains(&(method.to_string(), path.to_string())) {
                continue;
            }
            let response = dispatch(&backend, request(method, &concrete(path))).await;
            assert_ne!(
                response.status(),
                401,
                "{method} {path} is served but not documented"
            );
        }
    }
}
