//! What the template tests share: the repository root, the parsed template and its lookups.
// Each test binary uses some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_yaml::Value;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn template() -> Value {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

pub fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    let resource = &template["Resources"][logical_id];
    assert!(
        !resource.is_null(),
        "template.yaml has no resource {logical_id}"
    );
    resource
}

/// The lines of `text` that start with `prefix`, trimmed (a manifest's or a source's settings).
pub fn lines_starting_with<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .map(str::trim)
        .filter(|line| line.starts_with(prefix))
        .collect()
}

pub fn yaml(value: serde_json::Value) -> Value {
    serde_yaml::to_value(value).unwrap()
}

pub fn get_att_arn(logical_id: &str) -> Value {
    yaml(serde_json::json!({"Fn::GetAtt": [logical_id, "Arn"]}))
}
