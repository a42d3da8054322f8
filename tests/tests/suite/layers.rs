//! The layers' dependency rule, checked on what Cargo itself resolves (`cargo metadata`):
//! `domain` pulls in no async runtime, AWS SDK or HTTP crate, however deep; `use-cases` no AWS
//! SDK or HTTP crate and no adapter; `adapters` not the edge. And in the source: outside the
//! adapters crate, no module names a concrete adapter.

use std::collections::{BTreeSet, HashMap, VecDeque};

/// Crates the domain must never depend on, directly or not.
fn forbidden(name: &str) -> bool {
    name.starts_with("aws-")
        || name.starts_with("aws_")
        || name.starts_with("lambda_")
        || name.starts_with("hyper")
        || name.starts_with("http")
        || matches!(name, "tokio" | "reqwest" | "async-trait" | "futures")
}

/// Every package `package` depends on at run time (normal dependencies, transitively).
fn runtime_dependencies(metadata: &serde_json::Value, package: &str) -> BTreeSet<String> {
    let name_of: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or(""),
                p["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let nodes: HashMap<&str, &serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve graph")
        .iter()
        .map(|n| (n["id"].as_str().unwrap_or(""), n))
        .collect();
    let root = name_of
        .iter()
        .find(|(_, name)| **name == package)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("no package {package} in the workspace"));
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([root]);
    while let Some(id) = queue.pop_front() {
        for dep in nodes[id]["deps"].as_array().into_iter().flatten() {
            // A null kind is a normal dependency; dev and build dependencies do not ship.
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap_or("");
            if normal && seen.insert(name_of[dep_id].to_string()) {
                queue.push_back(dep_id);
            }
        }
    }
    seen
}

fn workspace_metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    // This machine's platform only: resolving every platform would download crates (Android,
    // Windows) that no build here uses.
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc names its host");
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .args(["--manifest-path", manifest])
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
}

#[test]
fn each_layer_crate_depends_only_on_the_layers_below_it() {
    let metadata = workspace_metadata();

    let domain = runtime_dependencies(&metadata, "domain");
    let offending: Vec<&String> = domain.iter().filter(|name| forbidden(name)).collect();
    assert!(
        offending.is_empty(),
        "the domain crate depends on {offending:?}"
    );

    // Ports and use cases: async (tokio, async-trait) but no AWS, HTTP or adapter.
    let use_cases = runtime_dependencies(&metadata, "use-cases");
    let offending: Vec<&String> = use_cases
        .iter()
        .filter(|name| {
            forbidden(name) && !matches!(name.as_str(), "tokio" | "async-trait" | "futures")
                || matches!(name.as_str(), "adapters" | "edge" | "shared")
        })
        .collect();
    assert!(
        offending.is_empty(),
        "the use-cases crate depends on {offending:?}"
    );
    assert!(use_cases.contains("domain"));

    let adapters = runtime_dependencies(&metadata, "adapters");
    for above in ["edge", "shared", "lambda_http"] {
        assert!(
            !adapters.contains(above),
            "the adapters crate depends on {above}"
        );
    }

    // The walk does find such crates where they are: the crates above have them.
    let shared = runtime_dependencies(&metadata, "shared");
    for expected in [
        "tokio",
        "aws-sdk-dynamodb",
        "http",
        "domain",
        "use-cases",
        "adapters",
        "edge",
    ] {
        assert!(
            shared.contains(expected),
            "shared should depend on {expected}"
        );
    }
}

/// The use cases and the edge work on ports: outside the adapters crate, only the composition
/// root (`adapters::wiring`, which the Lambda glue calls) picks a concrete adapter.
#[test]
fn no_use_case_or_edge_module_names_a_concrete_adapter() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared");
    let mut offenders = Vec::new();
    let mut checked = 0;
    let files = ["use-cases/src", "edge/src", "src"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(format!("{root}/{dir}")).expect("layer crate sources"))
        .map(|entry| entry.expect("entry").path());
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if !name.ends_with(".rs") || name == "lib.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read module");
        // Only the module's own code, not its unit tests.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        checked += 1;
        for (number, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            let concrete = [
                "adapters::dynamo",
                "adapters::memory",
                "adapters::s3",
                "adapters::sqs",
            ];
            if concrete.iter().any(|adapter| line.contains(adapter)) {
                offenders.push(format!("{name}:{}: {line}", number + 1));
            }
        }
    }
    assert!(checked >= 10, "only {checked} modules read");
    assert!(
        offenders.is_empty(),
        "modules naming a concrete adapter:\n{}",
        offenders.join("\n")
    );
}
