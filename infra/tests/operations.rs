//! The template operates itself (#35 item 3): every dead-letter queue and the change stream's
//! failure queue alarm at one message, the fan-out's iterator age at a minute, every function
//! on errors and throttles, the HTTP API on its 5xx rate, all to one topic; both APIs write
//! access logs without query strings; the public and webhook functions may reserve
//! concurrency; the widget and console may be hosted by the stack behind CloudFront.

use std::path::Path;

use serde_yaml::Value;

fn template() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("template.yaml")).expect("YAML")
}

fn resources(template: &Value) -> Vec<(String, Value)> {
    template["Resources"]
        .as_mapping()
        .expect("resources")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.clone()))
        .collect()
}

fn of_type(template: &Value, kind: &str) -> Vec<(String, Value)> {
    resources(template)
        .into_iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// The alarms on `metric` whose dimension points at `logical_id` (by Ref or GetAtt).
fn alarms_on<'a>(alarms: &'a [(String, Value)], metric: &str, logical_id: &str) -> Vec<&'a Value> {
    alarms
        .iter()
        .map(|(_, a)| a)
        .filter(|a| a["Properties"]["MetricName"] == metric)
        .filter(|a| {
            a["Properties"]["Dimensions"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|d| {
                    let value = &d["Value"];
                    value["Ref"] == logical_id || value["Fn::GetAtt"][0] == logical_id
                })
        })
        .collect()
}

fn notifies_the_topic(alarm: &Value) -> bool {
    let actions = &alarm["Properties"]["AlarmActions"];
    actions.as_sequence().is_some_and(|a| {
        a.iter().any(|action| {
            serde_yaml::to_string(action)
                .unwrap_or_default()
                .contains("AlarmTopic")
        })
    })
}

#[test]
fn every_dead_letter_queue_and_the_stream_failure_queue_alarm_at_one_message() {
    let template = template();
    let alarms = of_type(&template, "AWS::CloudWatch::Alarm");
    let mut dead_letter_queues: Vec<String> = of_type(&template, "AWS::SQS::Queue")
        .iter()
        .filter_map(|(_, q)| {
            q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(dead_letter_queues.len() >= 4, "{dead_letter_queues:?}");
    dead_letter_queues.push("ChangeStreamFailuresQueue".into());
    for queue in &dead_letter_queues {
        let found = alarms_on(&alarms, "ApproximateNumberOfMessagesVisible", queue);
        assert_eq!(found.len(), 1, "{queue} has no alarm");
        let alarm = &found[0]["Properties"];
        assert_eq!(alarm["Threshold"].as_f64(), Some(1.0), "{queue}");
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
        assert!(notifies_the_topic(found[0]), "{queue}");
    }
}

#[test]
fn every_function_alarms_on_errors_and_throttles_and_the_fan_out_on_its_iterator_age() {
    let template = template();
    let alarms = of_type(&template, "AWS::CloudWatch::Alarm");
    let functions = of_type(&template, "AWS::Serverless::Function");
    assert!(functions.len() >= 14);
    for (function, _) in &functions {
        for metric in ["Errors", "Throttles"] {
            let found = alarms_on(&alarms, metric, function);
            assert_eq!(found.len(), 1, "{function} has no {metric} alarm");
            assert!(notifies_the_topic(found[0]), "{function} {metric}");
        }
    }
    let age = alarms_on(&alarms, "IteratorAge", "FanOutFunction");
    assert_eq!(age.len(), 1, "no iterator age alarm on the fan-out");
    assert_eq!(age[0]["Properties"]["Threshold"].as_f64(), Some(60_000.0));
    // The HTTP API's 5xx rate, as metric math over 5xx and Count.
    let rate = &template["Resources"]["HttpApi5xxRateAlarm"]["Properties"];
    let metrics = serde_yaml::to_string(&rate["Metrics"]).unwrap();
    assert!(
        metrics.contains("5xx") && metrics.contains("Count"),
        "{metrics}"
    );
    assert!(notifies_the_topic(
        &template["Resources"]["HttpApi5xxRateAlarm"]
    ));
}

#[test]
fn the_alarm_topic_is_a_parameter_or_the_stacks_own_with_an_email() {
    let template = template();
    for parameter in ["AlarmTopicArn", "AlarmEmail"] {
        assert!(!template["Parameters"][parameter].is_null(), "{parameter}");
    }
    let topic = &template["Resources"]["AlarmTopic"];
    assert_eq!(topic["Condition"], "CreateAlarmTopic");
    assert_eq!(
        template["Resources"]["AlarmEmailSubscription"]["Properties"]["Protocol"],
        "email"
    );
}

#[test]
fn both_apis_write_access_logs_without_query_strings() {
    let template = template();
    let http = &template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    let websocket = &template["Resources"]["RealtimeStage"]["Properties"]["AccessLogSettings"];
    for (api, settings) in [("HttpApi", http), ("RealtimeStage", websocket)] {
        assert!(!settings["DestinationArn"].is_null(), "{api} logs nowhere");
        let format = settings["Format"].as_str().expect("a format");
        let fields: serde_json::Value = serde_json::from_str(format).expect("a JSON format");
        assert!(
            fields["requestId"].is_string() && fields["status"].is_string(),
            "{api}"
        );
        // Neither the raw query string nor a full URI (which holds it) is logged.
        for leak in [
            "querystring",
            "rawQueryString",
            "$context.requestUri",
            "$request",
        ] {
            assert!(
                !format.to_lowercase().contains(&leak.to_lowercase()),
                "{api} logs {leak}: {format}"
            );
        }
    }
}

#[test]
fn the_public_and_webhook_functions_may_reserve_concurrency() {
    let template = template();
    for (function, parameter) in [
        ("WidgetApiFunction", "WidgetApiReservedConcurrency"),
        (
            "DeliverWebhookFunction",
            "DeliverWebhookReservedConcurrency",
        ),
    ] {
        assert!(!template["Parameters"][parameter].is_null(), "{parameter}");
        let reserved =
            &template["Resources"][function]["Properties"]["ReservedConcurrentExecutions"];
        assert_eq!(reserved["Fn::If"][1]["Ref"], parameter, "{function}");
    }
}

#[test]
fn static_hosting_is_a_private_bucket_only_the_distribution_reads() {
    let template = template();
    let bucket = &template["Resources"]["StaticBucket"];
    assert_eq!(bucket["Condition"], "HostStatic");
    let block = &bucket["Properties"]["PublicAccessBlockConfiguration"];
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[flag], true, "{flag}");
    }
    let origin = &template["Resources"]["StaticDistribution"]["Properties"]["DistributionConfig"]
        ["Origins"][0];
    assert_eq!(
        origin["OriginAccessControlId"]["Fn::GetAtt"][0],
        "StaticOriginAccessControl"
    );
    let policy = serde_yaml::to_string(&template["Resources"]["StaticBucketPolicy"]).unwrap();
    assert!(policy.contains("cloudfront.amazonaws.com") && policy.contains("AWS:SourceArn"));
    assert!(!template["Outputs"]["StaticUrl"].is_null());
}
