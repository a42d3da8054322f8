//! What `docs/openapi.yaml` documents, read for the tests that hold the route table and the
//! functions to it, and requests built from its path templates.

/// (METHOD, path template, operationId) of every operation docs/openapi.yaml documents.
pub fn documented_operation_ids() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml"),
    )
    .expect("read docs/openapi.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("OpenAPI YAML");
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if !item[method].is_null() {
                operations.push((
                    method.to_uppercase(),
                    path.as_str().unwrap_or_default().to_string(),
                    item[method]["operationId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
        }
    }
    operations
}

/// (METHOD, path template) of the operations docs/openapi.yaml documents as public
/// (`security: []`): no token needed.
pub fn documented_public_operations() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml"),
    )
    .expect("read docs/openapi.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("OpenAPI YAML");
    documented_operations()
        .into_iter()
        .filter(|(method, path)| {
            let security = &doc["paths"][path.as_str()][method.to_lowercase().as_str()]["security"];
            security.as_sequence().is_some_and(|s| s.is_empty())
        })
        .collect()
}

/// Every (METHOD, path template) docs/openapi.yaml documents.
pub fn documented_operations() -> Vec<(String, String)> {
    documented_operation_ids()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

/// A path template (`/v1/conversations/{cid}/…`) filled with well-formed ids of objects that
/// do not exist.
pub fn sample_path(template: &str) -> String {
    template
        .replace("{cid}", "c_0123456789abcdef0123456789abcdef")
        .replace("{aid}", "att_0123456789abcdef0123456789abcdef")
        .replace("{agent_id}", "agent-1")
}

/// A request without token or body, as the gateway's `dispatch` takes it.
pub fn bare_request(method: &str, path: &str) -> edge::api::ApiRequest {
    http::Request::builder()
        .method(method)
        .uri(path)
        .body(Default::default())
        .expect("a valid method and path")
}
