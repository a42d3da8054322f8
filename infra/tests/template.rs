//! `template.yaml` and the LocalStack bootstrap must state exactly what `infra::definition`
//! defines; every function folder must be deployed as an arm64 cargo-lambda function.

use serde_yaml::Value;

mod common;

use common::*;

#[test]
fn table_matches_the_definition() {
    let resources = infra::definition(infra::DEFAULT_PREFIX);
    let template = template();
    let spec = &resources.table;
    let table = resource(&template, spec.logical_id);
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    let props = &table["Properties"];
    assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
    let key_schema = |pk: &str, sk: &str| {
        yaml(serde_json::json!([
            {"AttributeName": pk, "KeyType": "HASH"},
            {"AttributeName": sk, "KeyType": "RANGE"}
        ]))
    };
    assert_eq!(
        props["KeySchema"],
        key_schema(spec.partition_key, spec.sort_key)
    );
    let attributes: Vec<serde_json::Value> = resources
        .key_attributes()
        .iter()
        .map(|a| serde_json::json!({"AttributeName": a, "AttributeType": "S"}))
        .collect();
    assert_eq!(
        props["AttributeDefinitions"],
        yaml(serde_json::json!(attributes))
    );
    let indexes: Vec<serde_json::Value> = spec
        .indexes
        .iter()
        .map(|i| {
            serde_json::json!({
                "IndexName": i.name,
                "KeySchema": [
                    {"AttributeName": i.partition_key, "KeyType": "HASH"},
                    {"AttributeName": i.sort_key, "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            })
        })
        .collect();
    assert_eq!(
        props["GlobalSecondaryIndexes"],
        yaml(serde_json::json!(indexes))
    );
    assert_eq!(
        props["TimeToLiveSpecification"],
        yaml(serde_json::json!({"AttributeName": spec.ttl_attribute, "Enabled": true}))
    );
    assert_eq!(
        props["StreamSpecification"],
        yaml(serde_json::json!({"StreamViewType": spec.stream_view}))
    );
}

#[test]
fn queues_and_dead_letter_queues_match_the_definition() {
    let resources = infra::definition(infra::DEFAULT_PREFIX);
    let template = template();
    for spec in &resources.queues {
        let queue = resource(&template, spec.logical_id);
        assert_eq!(queue["Type"], "AWS::SQS::Queue");
        let props = &queue["Properties"];
        assert_eq!(
            props["VisibilityTimeout"],
            Value::from(spec.visibility_timeout_secs)
        );
        assert!(spec.visibility_timeout_secs >= 6 * infra::CONSUMER_TIMEOUT_SECS);
        assert_eq!(
            props["MessageRetentionPeriod"],
            Value::from(spec.retention_secs)
        );
        assert_eq!(
            props["RedrivePolicy"]["deadLetterTargetArn"],
            get_att_arn(spec.dead_letter.logical_id)
        );
        assert_eq!(
            props["RedrivePolicy"]["maxReceiveCount"],
            Value::from(spec.dead_letter.max_receive_count)
        );
        let dlq = resource(&template, spec.dead_letter.logical_id);
        assert_eq!(dlq["Type"], "AWS::SQS::Queue");
        assert_eq!(
            dlq["Properties"]["MessageRetentionPeriod"],
            Value::from(spec.dead_letter.retention_secs)
        );
    }
}

#[test]
fn bucket_is_private_and_encrypted() {
    let resources = infra::definition(infra::DEFAULT_PREFIX);
    let template = template();
    let bucket = resource(&template, resources.bucket.logical_id);
    assert_eq!(bucket["Type"], "AWS::S3::Bucket");
    let props = &bucket["Properties"];
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(
            props["PublicAccessBlockConfiguration"][flag], true,
            "{flag}"
        );
    }
    assert_eq!(
        props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            ["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "AES256"
    );
}

#[test]
fn bucket_cors_is_the_definitions() {
    let (template, resources) = (template(), infra::definition(infra::DEFAULT_PREFIX));
    let bucket = resource(&template, resources.bucket.logical_id);
    let cors = &resources.bucket.cors;
    assert_eq!(
        bucket["Properties"]["CorsConfiguration"]["CorsRules"],
        yaml(serde_json::json!([{
            "AllowedMethods": cors.allowed_methods,
            "AllowedOrigins": cors.allowed_origins,
            "AllowedHeaders": cors.allowed_headers,
            "MaxAge": cors.max_age_secs,
        }]))
    );
}

#[test]
fn bucket_announces_new_attachment_objects_to_the_notification_queue() {
    let resources = infra::definition(infra::DEFAULT_PREFIX);
    let template = template();
    let bucket = resource(&template, resources.bucket.logical_id);
    let queues = &bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"];
    assert_eq!(
        queues.as_sequence().map(Vec::len),
        Some(resources.bucket.notifications.len())
    );
    for (n, notification) in resources.bucket.notifications.iter().enumerate() {
        assert_eq!(queues[n]["Event"], "s3:ObjectCreated:*");
        assert_eq!(queues[n]["Queue"], get_att_arn(notification.queue));
        assert_eq!(
            queues[n]["Filter"]["S3Key"]["Rules"][0]["Value"],
            notification.prefix
        );
        // The queue must accept messages from S3 before the bucket is created with the
        // notification.
        let (policy_id, policy) = template["Resources"]
            .as_mapping()
            .unwrap()
            .iter()
            .find(|(_, r)| {
                r["Type"] == "AWS::SQS::QueuePolicy"
                    && r["Properties"]["Queues"][0]
                        == yaml(serde_json::json!({"Ref": notification.queue}))
            })
            .unwrap_or_else(|| panic!("a queue policy for {}", notification.queue));
        assert_eq!(
            policy["Properties"]["PolicyDocument"]["Statement"][0]["Principal"]["Service"],
            "s3.amazonaws.com"
        );
        let depends = &bucket["DependsOn"];
        assert!(
            depends.as_sequence().is_some_and(|d| d.contains(policy_id)),
            "the bucket waits for {policy_id:?}"
        );
    }
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        env[resources.bucket.env_var],
        yaml(serde_json::json!({"Ref": resources.bucket.logical_id}))
    );
}

#[test]
fn every_function_folder_is_an_arm64_cargo_lambda_function_wired_to_the_resources() {
    let resources = infra::definition(infra::DEFAULT_PREFIX);
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], yaml(serde_json::json!(["arm64"])));
    let env = &globals["Environment"]["Variables"];
    assert_eq!(
        env[resources.table.env_var],
        yaml(serde_json::json!({"Ref": resources.table.logical_id}))
    );
    for queue in &resources.queues {
        assert_eq!(
            env[queue.env_var],
            yaml(serde_json::json!({"Ref": queue.logical_id}))
        );
    }

    let functions_dir = repo_root().join("functions");
    let mut folders: Vec<String> = std::fs::read_dir(&functions_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert!(!folders.is_empty());
    let all = template["Resources"].as_mapping().unwrap();
    for folder in folders {
        // The folder's own binary, and any further [[bin]] (queue workers) in its manifest.
        let manifest =
            std::fs::read_to_string(functions_dir.join(&folder).join("Cargo.toml")).unwrap();
        let mut binaries = vec![folder.clone()];
        let mut in_bin = false;
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if let Some(name) = line.strip_prefix("name = ").filter(|_| in_bin) {
                let name = name.trim_matches('"').to_string();
                if !binaries.contains(&name) {
                    binaries.push(name);
                }
            }
        }
        for binary in binaries {
            let found = all.values().find(|r| {
                r["Type"] == "AWS::Serverless::Function"
                    && r["Metadata"]["BuildProperties"]["Binary"] == binary.as_str()
            });
            let function = found.unwrap_or_else(|| panic!("no SAM function builds {binary}"));
            assert_eq!(
                function["Metadata"]["BuildMethod"], "rust-cargolambda",
                "{binary}"
            );
            assert!(
                !function["Properties"]["Policies"].is_null(),
                "{binary} needs explicit least-privilege policies"
            );
        }
    }
}

#[test]
fn localstack_bootstrap_is_generated_from_the_definition() {
    let path = repo_root().join("localstack/init/resources.json");
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("resources.json")).unwrap();
    let expected = infra::definition(infra::DEFAULT_PREFIX).to_bootstrap_json();
    assert_eq!(
        stored, expected,
        "localstack/init/resources.json is stale: run `cargo run -p local-gateway -- export-resources > localstack/init/resources.json`"
    );
}

#[test]
fn the_http_api_leaves_cors_to_the_functions() {
    let template = template();
    let api = resource(&template, "HttpApi");
    assert!(
        api["Properties"]["CorsConfiguration"].is_null(),
        "API Gateway would answer preflights itself and drop the functions' CORS headers"
    );
}

#[test]
fn http_api_events_are_the_route_table_each_path_with_every_method_to_its_owner() {
    let template = template();
    // (function binary, method, path) for every HttpApi event of the template.
    let mut routed = std::collections::BTreeSet::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"] != "HttpApi" {
                continue;
            }
            let path = event["Properties"]["Path"].as_str().unwrap().to_string();
            let method = event["Properties"]["Method"].as_str().unwrap().to_string();
            assert!(
                routed.insert((binary.clone(), method.clone(), path.clone())),
                "{method} {path} twice"
            );
        }
    }
    // Each path's owner gets every method (it answers preflights and a wrong method with
    // 405 + Allow); a route of another function on the same path is an explicit method route,
    // which API Gateway prefers to `ANY`.
    let mut expected = std::collections::BTreeSet::new();
    for route in edge::routes::ROUTES {
        let owner = edge::routes::owner_of(route.pattern).unwrap();
        expected.insert((
            owner.to_string(),
            "ANY".to_string(),
            route.pattern.to_string(),
        ));
        if route.function != owner {
            expected.insert((
                route.function.to_string(),
                route.method.to_string(),
                route.pattern.to_string(),
            ));
        }
    }
    let missing: Vec<_> = expected.difference(&routed).collect();
    let extra: Vec<_> = routed.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "template.yaml and shared/edge/src/routes.rs disagree:\n  in the table, not the template: {missing:?}\n  in the template, not the table: {extra:?}"
    );
}

#[test]
fn websocket_routes_go_to_the_realtime_function_and_the_change_stream_drives_the_fan_out() {
    let resources = infra::definition(infra::DEFAULT_PREFIX);
    let template = template();
    let all = template["Resources"].as_mapping().unwrap();
    let api = all
        .iter()
        .find(|(_, r)| {
            r["Type"] == "AWS::ApiGatewayV2::Api" && r["Properties"]["ProtocolType"] == "WEBSOCKET"
        })
        .map(|(id, _)| id.as_str().unwrap().to_string())
        .expect("a WebSocket API");
    let function_of_binary = |binary: &str| {
        all.iter()
            .find(|(_, r)| r["Metadata"]["BuildProperties"]["Binary"] == binary)
            .map(|(id, _)| id.as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no function builds {binary}"))
    };
    let realtime = function_of_binary("realtime");
    let mut route_keys: Vec<String> = Vec::new();
    for (_, route) in all
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::ApiGatewayV2::Route")
    {
        let props = &route["Properties"];
        assert_eq!(props["ApiId"], yaml(serde_json::json!({"Ref": api})));
        let target = props["Target"]["Fn::Sub"].as_str().expect("a target");
        let integration_id = target
            .strip_prefix("integrations/${")
            .and_then(|t| t.strip_suffix('}'))
            .expect("an integration target");
        let integration = resource(&template, integration_id);
        let uri = integration["Properties"]["IntegrationUri"]["Fn::Sub"]
            .as_str()
            .unwrap();
        assert!(
            uri.contains(&format!("${{{realtime}.Arn}}")),
            "{uri} is not the realtime function"
        );
        route_keys.push(props["RouteKey"].as_str().unwrap().to_string());
    }
    route_keys.sort();
    assert_eq!(route_keys, vec!["$connect", "$default", "$disconnect"]);
    assert!(all.values().any(|r| r["Type"] == "AWS::ApiGatewayV2::Stage"
        && r["Properties"]["ApiId"] == yaml(serde_json::json!({"Ref": api}))));
    assert!(all.values().any(|r| r["Type"] == "AWS::Lambda::Permission"
        && r["Properties"]["FunctionName"] == yaml(serde_json::json!({"Ref": realtime}))
        && r["Properties"]["Principal"] == "apigateway.amazonaws.com"));

    let fan_out = resource(&template, &function_of_binary("fan-out"));
    let events = fan_out["Properties"]["Events"].as_mapping().unwrap();
    let (_, stream) = events
        .iter()
        .find(|(_, e)| e["Type"] == "DynamoDB")
        .expect("the fan-out reads the change stream");
    let props = &stream["Properties"];
    assert_eq!(
        props["Stream"],
        yaml(serde_json::json!({"Fn::GetAtt": [resources.table.logical_id, "StreamArn"]}))
    );
    assert_eq!(props["BisectBatchOnFunctionError"], Value::from(true));
    let retries = props["MaximumRetryAttempts"]
        .as_u64()
        .expect("bounded retries");
    assert!((1..=10).contains(&retries), "{retries}");
    assert_eq!(
        props["FunctionResponseTypes"],
        yaml(serde_json::json!(["ReportBatchItemFailures"]))
    );
    let destination = &props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0];
    let queue = resource(
        &template,
        destination.as_str().expect("an on-failure queue"),
    );
    assert_eq!(queue["Type"], "AWS::SQS::Queue");
}
