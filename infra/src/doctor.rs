//! `relay-admin doctor`: a deployed stack (or an emulator) against the one definition of the
//! product's resources. The resources are found where the functions find them (their
//! environment variables, or a stack's outputs); their shape is checked against
//! [`definition`]: the table's keys, indexes, stream and TTL, each queue and its dead-letter
//! queue, the bucket and its notification of new uploads. Each problem says how to fix it.

use super::*;

/// Where a stack's resources are: what `FunctionConfig` holds, by the definition's env names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Located {
    pub table_name: Option<String>,
    /// Queue URL by the queue's env var (`ROUTING_QUEUE_URL`…).
    pub queue_urls: BTreeMap<String, String>,
    pub bucket_name: Option<String>,
}

impl Located {
    /// From `lookup(env var)`: the process environment, or a stack's outputs mapped to the
    /// same names.
    pub fn from_lookup(resources: &Resources, lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            table_name: lookup(resources.table.env_var),
            queue_urls: resources
                .queues
                .iter()
                .filter_map(|q| lookup(q.env_var).map(|url| (q.env_var.to_string(), url)))
                .collect(),
            bucket_name: lookup(resources.bucket.env_var),
        }
    }
}

/// One thing wrong with a stack, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub resource: String,
    pub what: String,
    pub fix: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (fix: {})", self.resource, self.what, self.fix)
    }
}

fn problem(resource: &str, what: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem {
        resource: resource.to_string(),
        what: what.into(),
        fix: fix.into(),
    }
}

const REDEPLOY: &str = "deploy the stack again (sam deploy), or on an emulator run `cargo run -p local-gateway -- provision`";

/// Every problem of the stack at `located`; empty when it is as defined. Checks run one
/// after another and never stop at the first problem.
pub async fn check(config: &SdkConfig, resources: &Resources, located: &Located) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_table(config, resources, located, &mut problems).await;
    check_queues(config, resources, located, &mut problems).await;
    check_bucket(config, resources, located, &mut problems).await;
    problems
}

async fn check_table(
    config: &SdkConfig,
    resources: &Resources,
    located: &Located,
    problems: &mut Vec<Problem>,
) {
    let spec = &resources.table;
    let Some(name) = &located.table_name else {
        problems.push(problem(
            spec.env_var,
            "not set: the table cannot be found",
            format!("set {} or pass --stack NAME", spec.env_var),
        ));
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(config);
    let table = match client.describe_table().table_name(name).send().await {
        Ok(described) => described.table,
        Err(error) => {
            problems.push(problem(
                name,
                format!("table not found ({})", error.code().unwrap_or("error")),
                REDEPLOY,
            ));
            return;
        }
    };
    let Some(table) = table else {
        problems.push(problem(name, "table not described", REDEPLOY));
        return;
    };
    let keys: Vec<&str> = table
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    if keys != [spec.partition_key, spec.sort_key] {
        problems.push(problem(
            name,
            format!(
                "keys are {keys:?}, not [{}, {}]",
                spec.partition_key, spec.sort_key
            ),
            "the table cannot be changed in place: create it again from the template",
        ));
    }
    let indexes: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    for index in &spec.indexes {
        if !indexes.contains(&index.name) {
            problems.push(problem(
                name,
                format!("index {} is missing", index.name),
                REDEPLOY,
            ));
        }
    }
    let stream = table.stream_specification();
    let streaming = stream.is_some_and(|s| s.stream_enabled());
    let view = stream
        .and_then(|s| s.stream_view_type())
        .map(|v| v.as_str().to_string());
    if !streaming || view.as_deref() != Some(spec.stream_view) {
        problems.push(problem(
            name,
            format!("the change stream is not {} ({view:?})", spec.stream_view),
            format!("enable the stream with {}; {REDEPLOY}", spec.stream_view),
        ));
    }
    match client.describe_time_to_live().table_name(name).send().await {
        Ok(ttl) => {
            let on = ttl.time_to_live_description().is_some_and(|d| {
                d.attribute_name() == Some(spec.ttl_attribute)
                    && d.time_to_live_status()
                        .is_some_and(|s| matches!(s.as_str(), "ENABLED" | "ENABLING"))
            });
            if !on {
                problems.push(problem(
                    name,
                    format!("TTL is not on `{}`", spec.ttl_attribute),
                    REDEPLOY,
                ));
            }
        }
        Err(error) => problems.push(problem(
            name,
            format!("TTL unreadable ({})", error.code().unwrap_or("error")),
            "grant dynamodb:DescribeTimeToLive to the operator",
        )),
    }
}

async fn check_queues(
    config: &SdkConfig,
    resources: &Resources,
    located: &Located,
    problems: &mut Vec<Problem>,
) {
    let sqs = aws_sdk_sqs::Client::new(config);
    for queue in &resources.queues {
        let Some(url) = located.queue_urls.get(queue.env_var) else {
            problems.push(problem(
                queue.env_var,
                format!("not set: {} cannot be found", queue.logical_id),
                format!("set {} or pass --stack NAME", queue.env_var),
            ));
            continue;
        };
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await;
        let attributes = match attributes {
            Ok(output) => output.attributes.unwrap_or_default(),
            Err(error) => {
                problems.push(problem(
                    url,
                    format!(
                        "{} not found ({})",
                        queue.logical_id,
                        error.code().unwrap_or("error")
                    ),
                    REDEPLOY,
                ));
                continue;
            }
        };
        let dead_letter_arn = attributes
            .get(&QueueAttributeName::RedrivePolicy)
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_string));
        let Some(arn) = dead_letter_arn else {
            problems.push(problem(
                url,
                format!("{} has no dead-letter queue", queue.logical_id),
                format!(
                    "give it a redrive policy to {} after {} receives; {REDEPLOY}",
                    queue.dead_letter.logical_id, queue.dead_letter.max_receive_count
                ),
            ));
            continue;
        };
        let dlq_name = arn.rsplit(':').next().unwrap_or_default();
        if sqs
            .get_queue_url()
            .queue_name(dlq_name)
            .send()
            .await
            .is_err()
        {
            problems.push(problem(
                &arn,
                format!(
                    "the dead-letter queue of {} does not exist",
                    queue.logical_id
                ),
                REDEPLOY,
            ));
        }
    }
}

async fn check_bucket(
    config: &SdkConfig,
    resources: &Resources,
    located: &Located,
    problems: &mut Vec<Problem>,
) {
    let spec = &resources.bucket;
    let Some(name) = &located.bucket_name else {
        problems.push(problem(
            spec.env_var,
            "not set: the attachments bucket cannot be found",
            format!("set {} or pass --stack NAME", spec.env_var),
        ));
        return;
    };
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    if let Err(error) = s3.head_bucket().bucket(name).send().await {
        problems.push(problem(
            name,
            format!(
                "bucket not found ({})",
                error
                    .as_service_error()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "unreachable".into())
            ),
            REDEPLOY,
        ));
        return;
    }
    let notifies = s3
        .get_bucket_notification_configuration()
        .bucket(name)
        .send()
        .await
        .map(|n| n.queue_configurations().len() >= spec.notifications.len())
        .unwrap_or(false);
    if !notifies {
        problems.push(problem(
            name,
            "new uploads notify no queue: attachments are validated only on `complete`",
            format!(
                "notify {} of ObjectCreated; {REDEPLOY}",
                spec.notifications
                    .iter()
                    .map(|n| format!("{} under `{}`", n.queue, n.prefix))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        ));
    }
}
