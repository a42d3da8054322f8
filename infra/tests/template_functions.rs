//! How `template.yaml` builds, runs and permits each function: bucket listing for those that
//! look for uploads, unwinding release builds, fixed-address single-threaded binaries, the
//! API stage's throttling with log expiry, and each function's secrets.

mod common;

use common::*;

/// Without `s3:ListBucket` on the bucket, S3 answers a HeadObject of a missing key with 403,
/// not 404: `complete` before any upload would be a 500 on AWS instead of 409 `not_uploaded`
/// (moto does not enforce IAM, so only the template can show it). Every function that asks
/// whether an upload exists must hold it.
#[test]
fn functions_that_look_for_uploads_may_list_the_bucket() {
    let template = template();
    let resources = infra::definition(infra::DEFAULT_PREFIX);
    let bucket_arn = get_att_arn(resources.bucket.logical_id);
    for function in ["UploadAttachmentFunction", "ValidateAttachmentFunction"] {
        let statements = resource(&template, function)["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{function} has a policy"))
            .clone();
        let lists = statements.iter().any(|statement| {
            let actions = &statement["Action"];
            let has_list = actions
                .as_sequence()
                .is_some_and(|a| a.iter().any(|x| x == "s3:ListBucket"))
                || *actions == "s3:ListBucket";
            let on_bucket = statement["Resource"]
                .as_sequence()
                .is_some_and(|r| r.contains(&bucket_arn));
            has_list && on_bucket && statement["Condition"].is_null()
        });
        assert!(
            lists,
            "{function} cannot tell a missing upload (404) from a refusal (403)"
        );
    }
}

/// #19 item 9: release builds unwind. With `panic = "abort"` a panic on one queue message
/// killed the execution environment and failed its whole batch (every message retried, a cold
/// start next); unwinding lets the runtime report the one invocation and the batch runner the
/// one message.
#[test]
fn release_builds_unwind_so_a_panic_fails_one_message_not_the_environment() {
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).expect("Cargo.toml");
    let release = manifest
        .split("[profile.release]")
        .nth(1)
        .expect("a release profile")
        .split("\n[")
        .next()
        .unwrap_or_default();
    let panic_lines = lines_starting_with(release, "panic");
    assert!(
        panic_lines.iter().all(|line| line.contains("unwind")),
        "release profile: {panic_lines:?}"
    );
}

/// Cold start (#14, #15): every function's binary is linked at a fixed address, so the loader
/// has no relocations to apply (`functions/link-fixed-address.rs`), and runs its one event at a
/// time on a one-thread runtime (no worker pool to start). A function that forgets either would
/// start 10–15% slower and nothing else would say so. (CI also checks that the arm64 `bootstrap`
/// files `sam build` makes are fixed-address executables.)
#[test]
fn function_binaries_start_at_a_fixed_address_on_one_thread() {
    let functions_dir = repo_root().join("functions");
    let script = std::fs::read_to_string(functions_dir.join("link-fixed-address.rs"))
        .expect("functions/link-fixed-address.rs");
    assert!(script.contains("cargo:rustc-link-arg-bins=-no-pie"));
    let mut crates = 0;
    let mut mains = 0;
    for entry in std::fs::read_dir(&functions_dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(manifest) = std::fs::read_to_string(entry.path().join("Cargo.toml")) else {
            continue;
        };
        assert_eq!(
            lines_starting_with(&manifest, "build ="),
            ["build = \"../link-fixed-address.rs\""],
            "functions/{name}"
        );
        crates += 1;
        let src = entry.path().join("src");
        let bins = std::fs::read_dir(src.join("bin"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|bin| bin.path());
        for main in std::iter::once(src.join("main.rs")).chain(bins) {
            let code = std::fs::read_to_string(&main).expect("a main");
            assert_eq!(
                lines_starting_with(&code, "#[tokio::main"),
                ["#[tokio::main(flavor = \"current_thread\")]"],
                "{}",
                main.display()
            );
            mains += 1;
        }
    }
    assert!(
        crates >= 13 && mains > crates,
        "{crates} crates, {mains} mains"
    );
}

/// #19 item 9: a public API is throttled at its stage, and no function's logs are kept
/// forever (a Lambda's default log group never expires).
#[test]
fn the_api_stage_is_throttled_and_every_functions_logs_expire() {
    let template = template();
    let settings = &resource(&template, "HttpApi")["Properties"]["DefaultRouteSettings"];
    assert!(
        settings["ThrottlingRateLimit"]
            .as_f64()
            .is_some_and(|r| r > 0.0)
            && settings["ThrottlingBurstLimit"]
                .as_u64()
                .is_some_and(|b| b > 0),
        "HttpApi needs DefaultRouteSettings with a rate and burst limit: {settings:?}"
    );
    let resources = template["Resources"].as_mapping().unwrap();
    for (name, function) in resources {
        if function["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let name = name.as_str().unwrap();
        let group_ref = &function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"];
        let group_id = group_ref
            .as_str()
            .unwrap_or_else(|| panic!("{name}: LoggingConfig.LogGroup must name its log group"));
        let group = resource(&template, group_id);
        assert_eq!(group["Type"], "AWS::Logs::LogGroup", "{name}");
        let days = group["Properties"]["RetentionInDays"].as_u64();
        assert!(
            days.is_some_and(|d| (1..=400).contains(&d)),
            "{group_id}: RetentionInDays {days:?}"
        );
    }
}

/// #19 item 8: secrets live in partitions of their own (`S#KEYS#…` signing keys, `S#HOOKS#…`
/// webhook secrets, `S#EMAIL#…` reply-token secrets), and IAM denies each kind, by that prefix, to every function that needs
/// none of it: a compromised queue or stream consumer reads no tenant's signing key, and only
/// the integrations function (writes them) and deliver-webhook (signs with them) reach webhook
/// secrets. Functions that answer HTTP or WebSocket requests verify tokens, so they keep the
/// signing keys (a deny would break them).
#[test]
fn each_function_reaches_only_the_secrets_it_needs() {
    let template = template();
    let all = template["Resources"].as_mapping().unwrap();
    let prefix = adapters::dynamo::SECRETS_PREFIX;
    for (id, function) in all
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
    {
        let id = id.as_str().unwrap();
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default();
        let verifies_tokens = binary == "realtime"
            || function["Properties"]["Events"]
                .as_mapping()
                .is_some_and(|events| events.values().any(|e| e["Type"] == "HttpApi"));
        let handles_webhook_secrets = ["integrations", "deliver-webhook"].contains(&binary);
        // email-inbound verifies reply tokens with the accounts' email secrets (`S#EMAIL#`,
        // R35) and route-conversation signs them (the email of unread replies); neither
        // reaches any other secret.
        let expected: Vec<String> = match (verifies_tokens, handles_webhook_secrets) {
            _ if ["email-inbound", "route-conversation"].contains(&binary) => {
                vec![format!("{prefix}HOOKS#*"), format!("{prefix}KEYS#*")]
            }
            (false, false) => vec![format!("{prefix}*")],
            (false, true) => vec![format!("{prefix}KEYS#*")],
            (true, false) => vec![format!("{prefix}HOOKS#*")],
            (true, true) => Vec::new(),
        };
        let statements = function["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id} has a policy"));
        let mut denied: Vec<String> = Vec::new();
        for statement in statements.iter().filter(|s| s["Effect"] == "Deny") {
            let actions = statement["Action"]
                .as_sequence()
                .cloned()
                .unwrap_or_default();
            assert!(
                ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"]
                    .iter()
                    .all(|a| actions.iter().any(|x| x == a)),
                "{id}: a deny that misses reads or writes"
            );
            let keys = &statement["Condition"]["ForAnyValue:StringLike"]["dynamodb:LeadingKeys"];
            denied.extend(
                keys.as_sequence()
                    .unwrap_or_else(|| panic!("{id}: a deny not by leading key"))
                    .iter()
                    .map(|k| k.as_str().unwrap().to_string()),
            );
        }
        assert_eq!(denied, expected, "{id} ({binary})");
    }

    // The fan-out is not even handed the keys' stream records.
    let fan_out = all
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"] == "fan-out")
        .expect("the fan-out");
    let stream = fan_out["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|e| e["Type"] == "DynamoDB")
        .expect("its stream");
    let pattern = stream["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .expect("a filter");
    let pattern: serde_json::Value = serde_json::from_str(pattern).unwrap();
    assert_eq!(
        pattern,
        serde_json::json!({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "A#"}]}}}})
    );
}
