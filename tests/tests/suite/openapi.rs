//! docs/openapi.yaml stays in step with the routes the gateway serves: every documented
//! operation reaches a handler (401 without a token, not 404/405), and every served route is
//! documented.

use edge::routes::ROUTES;
use integration_tests::openapi::{
    bare_request, documented_operation_ids, documented_operations, documented_public_operations,
    sample_path,
};
use local_gateway::dispatch;

#[tokio::test]
async fn every_documented_operation_is_served() {
    let backend = adapters::wiring::in_memory();
    let operations = documented_operations();
    assert!(!operations.is_empty());
    let public = documented_public_operations();
    assert_eq!(
        public.len(),
        2,
        "the widget's config and visitors: {public:?}"
    );
    for (method, path) in operations {
        let response = dispatch(&backend, bare_request(&method, &sample_path(&path))).await;
        // A public operation reaches its handler, which wants its key (400); the rest want a
        // token (401).
        let expected = if public.contains(&(method.clone(), path.clone())) {
            400
        } else {
            401
        };
        assert_eq!(
            response.status(),
            expected,
            "{method} {path}: {}",
            response.body()
        );
    }
}

#[tokio::test]
async fn undocumented_operations_are_not_served() {
    let backend = adapters::wiring::in_memory();
    let documented = documented_operations();
    // Every path the table or the document knows, with every method.
    let mut candidates: std::collections::BTreeSet<String> =
        ROUTES.iter().map(|r| r.pattern.to_string()).collect();
    candidates.extend(documented.iter().map(|(_, path)| path.clone()));
    for path in &candidates {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.contains(&(method.to_string(), path.to_string())) {
                continue;
            }
            let response = dispatch(&backend, bare_request(method, &sample_path(path))).await;
            assert_ne!(
                response.status(),
                401,
                "{method} {path} is served but not documented"
            );
        }
    }
}

/// `Operation::PostMessage` → `postMessage`, as operation ids are written.
fn operation_id(operation: edge::routes::Operation) -> String {
    let name = format!("{operation:?}");
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[test]
fn the_document_lists_exactly_the_route_table_with_its_operation_ids() {
    let documented: std::collections::BTreeSet<(String, String, String)> =
        documented_operation_ids().into_iter().collect();
    let table: std::collections::BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.pattern.to_string(),
                operation_id(r.operation),
            )
        })
        .collect();
    let missing: Vec<_> = table.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&table).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/openapi.yaml and shared/edge/src/routes.rs disagree:\n  in the table, not documented: {missing:?}\n  documented, not in the table: {extra:?}"
    );
}
