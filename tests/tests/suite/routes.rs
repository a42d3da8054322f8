//! The route table as clients meet it: a wrong method on a served path is 405 with `Allow`
//! naming exactly the table's methods for that path (answered by the path's own function, as
//! on AWS where the template routes every method of a path to it); an unknown path is 404.

use domain::model::Role;
use edge::routes::ROUTES;
use integration_tests::openapi::{bare_request, sample_path};
use local_gateway::dispatch;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

#[tokio::test]
async fn a_wrong_method_on_every_served_path_is_405_with_the_methods_it_takes() {
    let backend = adapters::wiring::in_memory();
    let mut checked = 0;
    for route in ROUTES {
        let allowed: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.pattern == route.pattern)
            .map(|r| r.method)
            .collect();
        for method in METHODS.iter().filter(|m| !allowed.contains(m)) {
            let response =
                dispatch(&backend, bare_request(method, &sample_path(route.pattern))).await;
            assert_eq!(response.status(), 405, "{method} {}", route.pattern);
            let allow = response
                .headers()
                .get(http::header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{method} {}: no Allow", route.pattern));
            let mut listed: Vec<&str> = allow.split(", ").collect();
            let mut expected = allowed.clone();
            listed.sort_unstable();
            expected.sort_unstable();
            assert_eq!(listed, expected, "{method} {}", route.pattern);
            let body: serde_json::Value =
                serde_json::from_str(response.body()).expect("JSON error body");
            assert_eq!(body["error"]["code"], "method_not_allowed");
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} wrong methods tried");
}

#[tokio::test]
async fn paths_no_route_serves_are_404_route_not_found() {
    let backend = adapters::wiring::in_memory();
    for path in [
        "/",
        "/v1",
        "/v1/agents",
        "/v1/conversations/c_1/attachments/a_1/complete/again",
        "/v2/conversations",
    ] {
        let response = dispatch(&backend, bare_request("GET", path)).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value =
            serde_json::from_str(response.body()).expect("JSON error body");
        assert_eq!(body["error"]["code"], "route_not_found", "{path}");
    }
}

/// Every row of the table is answered by the function it names: whatever the caller's role
/// and however odd the ids, no request on a row's own method meets that function's
/// "not one of my operations" arm (`route_not_found`), which `paths_no_route_serves_…`
/// shows a client would see.
#[tokio::test]
async fn every_row_of_the_table_is_answered_by_its_own_function() {
    let app = integration_tests::TestApp::start_in_memory().await;
    let tokens = [
        app.token(Role::Admin, "admin-1"),
        app.token(Role::Agent, "ag-1"),
        app.token(Role::EndUser, "alice"),
    ];
    let mut asked = 0;
    for route in ROUTES {
        let method = http::Method::from_bytes(route.method.as_bytes()).expect("a method");
        for token in &tokens {
            let reply = app
                .send_raw(
                    method.clone(),
                    &sample_path(route.pattern),
                    Some(token),
                    Some(b"{}".to_vec()),
                )
                .await;
            assert_ne!(
                reply.body["error"]["code"], "route_not_found",
                "{} {} ({:?}): {:?}",
                route.method, route.pattern, route.operation, reply.body
            );
            asked += 1;
        }
    }
    assert!(asked >= 3 * 40, "only {asked} requests");
}
