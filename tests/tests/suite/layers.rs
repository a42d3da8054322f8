//! The layers' dependency rule, checked on what Cargo itself resolves (`cargo metadata`):
//! `domain` pulls in no async runtime, AWS SDK or HTTP crate, however deep; `use-cases` no AWS
//! SDK or HTTP crate and no adapter; `adapters` not the edge; no facade crate re-exports them.
//! And in the source: outside the adapters crate, no module names a concrete adapter, and a
//! function crate reaches the adapters only through the composition root (`adapters::wiring`).

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
                || matches!(name.as_str(), "adapters" | "edge")
        })
        .collect();
    assert!(
        offending.is_empty(),
        "the use-cases crate depends on {offending:?}"
    );
    assert!(use_cases.contains("domain"));

    let adapters = runtime_dependencies(&metadata, "adapters");
    for above in ["edge", "lambda_http"] {
        assert!(
            !adapters.contains(above),
            "the adapters crate depends on {above}"
        );
    }

    // The walk does find such crates where they are: a function crate has them.
    let function = runtime_dependencies(&metadata, "ingest-message");
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
            function.contains(expected),
            "ingest-message should depend on {expected}"
        );
    }

    // Each layer is named by its own crate: no package of the workspace is a facade that
    // re-exports them under other paths (the `shared` crate did until #34).
    let packages: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .expect("workspace members")
        .iter()
        .filter_map(|id| id.as_str())
        .collect();
    assert!(packages.iter().any(|id| id.contains("/shared/edge")));
    assert!(
        !packages.iter().any(|id| id.ends_with("/shared#0.1.0")),
        "a facade crate is back: {packages:?}"
    );
}

/// Every `.rs` file under `dir`, however deep.
fn sources(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// A function crate is its handlers over the use cases and the edge; which adapters serve it
/// is the composition root's choice (`adapters::wiring`, called from its `main.rs`), so no
/// other path into the adapters crate appears in its code.
#[test]
fn function_crates_reach_the_adapters_only_through_the_wiring() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"));
    // Their sources, not their tests (which build fixtures from in-memory adapters).
    let files: Vec<_> = sources(root)
        .into_iter()
        .filter(|path| path.components().any(|c| c.as_os_str() == "src"))
        .collect();
    assert!(
        files.len() >= 26,
        "only {} function sources read",
        files.len()
    );
    let mut offenders = Vec::new();
    let mut wired = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read source");
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for (at, _) in code.match_indices("adapters::") {
                let before = code[..at].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                if code[at..].starts_with("adapters::wiring::") {
                    wired += 1;
                } else {
                    offenders.push(format!("{}:{}: {code}", path.display(), number + 1));
                }
            }
        }
    }
    // Positive control: every function does take its adapters from the wiring.
    assert!(wired >= 13, "only {wired} uses of adapters::wiring found");
    assert!(
        offenders.is_empty(),
        "function code reaching past the wiring into the adapters:\n{}",
        offenders.join("\n")
    );
}

/// The use cases and the edge work on ports: outside the adapters crate, only the composition
/// root (`adapters::wiring`, which the Lambda glue calls) picks a concrete adapter.
#[test]
fn no_use_case_or_edge_module_names_a_concrete_adapter() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared");
    let mut offenders = Vec::new();
    let mut checked = 0;
    let files = ["use-cases/src", "edge/src"]
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
