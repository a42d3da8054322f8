//! Creating the defined resources on an AWS endpoint (the emulator, or an account for a quick
//! try), idempotently: what exists is kept, what is missing is created, a missing index added.

use super::*;

#[derive(Debug, Error)]
pub enum InfraError {
    #[error("{resource}: {message}")]
    Aws { resource: String, message: String },
}

fn aws_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    resource: &str,
) -> impl FnOnce(E) -> InfraError + '_ {
    move |error| InfraError::Aws {
        resource: resource.to_string(),
        message: format!(
            "{}: {}",
            error.code().unwrap_or("error"),
            error.message().unwrap_or("no message")
        ),
    }
}

/// Where the created resources are, as functions receive them through the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub table_name: String,
    /// The table's change stream.
    pub table_stream_arn: String,
    /// Queue URL by logical id (dead-letter queues included).
    pub queue_urls: BTreeMap<String, String>,
    pub bucket_name: String,
}

impl Provisioned {
    pub fn queue_url(&self, logical_id: &str) -> Option<&str> {
        self.queue_urls.get(logical_id).map(String::as_str)
    }
}

/// Creates whatever of `resources` is missing on the endpoint of `config`. Safe to run again
/// and concurrently (existing resources are left as they are).
pub async fn ensure(config: &SdkConfig, resources: &Resources) -> Result<Provisioned, InfraError> {
    let table_stream_arn =
        ensure_table(&aws_sdk_dynamodb::Client::new(config), &resources.table).await?;
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut queue_urls = BTreeMap::new();
    for queue in &resources.queues {
        let (url, dlq_url) = ensure_queue(&sqs, queue).await?;
        queue_urls.insert(queue.logical_id.to_string(), url);
        queue_urls.insert(queue.dead_letter.logical_id.to_string(), dlq_url);
    }
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    ensure_bucket(&s3, &resources.bucket).await?;
    let mut notified = Vec::new();
    for notification in &resources.bucket.notifications {
        let url = queue_urls
            .get(notification.queue)
            .ok_or_else(|| InfraError::Aws {
                resource: resources.bucket.name.clone(),
                message: format!(
                    "notification queue {} missing from the definition",
                    notification.queue
                ),
            })?;
        notified.push((queue_arn(&sqs, url).await?, notification.prefix));
    }
    ensure_bucket_notifications(&s3, &sqs, &resources.bucket, &notified).await?;
    ensure_email_identity(config, LOCAL_EMAIL_DOMAIN).await?;
    Ok(Provisioned {
        table_name: resources.table.name.clone(),
        table_stream_arn,
        queue_urls,
        bucket_name: resources.bucket.name.clone(),
    })
}

fn stream_specification(table: &TableSpec) -> Result<StreamSpecification, InfraError> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::from(table.stream_view))
        .build()
        .map_err(|e| InfraError::Aws {
            resource: table.name.clone(),
            message: e.to_string(),
        })
}

fn key_schema(pk: &str, sk: &str) -> Result<Vec<KeySchemaElement>, InfraError> {
    let element = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(|e| InfraError::Aws {
                resource: "table".into(),
                message: e.to_string(),
            })
    };
    Ok(vec![
        element(pk, KeyType::Hash)?,
        element(sk, KeyType::Range)?,
    ])
}

/// A key attribute of the table or an index (every key is a string).
fn string_attribute(
    name: &str,
) -> Result<AttributeDefinition, aws_sdk_dynamodb::error::BuildError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
}

/// Indexes project every attribute (the adapter reads whole items from them).
fn all_attributes() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::All)
        .build()
}

/// Ensures the table and answers the ARN of its change stream.
async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    table: &TableSpec,
) -> Result<String, InfraError> {
    let name = table.name.as_str();
    let build_error = |e: aws_sdk_dynamodb::error::BuildError| InfraError::Aws {
        resource: name.to_string(),
        message: e.to_string(),
    };
    let existing = client.describe_table().table_name(name).send().await.ok();
    if let Some(described) = existing.and_then(|d| d.table) {
        // A table created by an older definition gets the indexes added since.
        let present: Vec<String> = described
            .global_secondary_indexes()
            .iter()
            .filter_map(|i| i.index_name().map(str::to_string))
            .collect();
        for index in table
            .indexes
            .iter()
            .filter(|i| !present.iter().any(|p| p == i.name))
        {
            let attribute = |n: &str| string_attribute(n).map_err(build_error);
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)?))
                .projection(all_attributes())
                .build()
                .map_err(build_error)?;
            client
                .update_table()
                .table_name(name)
                .attribute_definitions(attribute(index.partition_key)?)
                .attribute_definitions(attribute(index.sort_key)?)
                .global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder().create(create).build(),
                )
                .send()
                .await
                .map_err(|e| aws_error(name)(e.into_service_error()))?;
            tracing::info!(table = name, index = index.name, "index added");
        }
        // A table created before the change stream existed gets it.
        let streaming = described
            .stream_specification()
            .is_some_and(|spec| spec.stream_enabled());
        if !streaming {
            client
                .update_table()
                .table_name(name)
                .stream_specification(stream_specification(table)?)
                .send()
                .await
                .map_err(|e| aws_error(name)(e.into_service_error()))?;
            tracing::info!(table = name, "change stream enabled");
        }
    } else {
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(stream_specification(table)?)
            .set_key_schema(Some(key_schema(table.partition_key, table.sort_key)?));
        let mut attributes = vec![table.partition_key, table.sort_key];
        for index in &table.indexes {
            attributes.extend([index.partition_key, index.sort_key]);
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name)
                    .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)?))
                    .projection(all_attributes())
                    .build()
                    .map_err(build_error)?,
            );
        }
        for attribute in attributes {
            request =
                request.attribute_definitions(string_attribute(attribute).map_err(build_error)?);
        }
        match request.send().await {
            Ok(_) => tracing::info!(table = name, "table created"),
            // Created by a concurrent ensure: fine.
            Err(error) if error.code() == Some("ResourceInUseException") => {}
            Err(error) => return Err(aws_error(name)(error.into_service_error())),
        }
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(table.ttl_attribute)
                .enabled(true)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map(|_| ())
        .or_else(|error| {
            // Already enabled is the expected steady state.
            if error.code() == Some("ValidationException") {
                Ok(())
            } else {
                Err(aws_error(name)(error.into_service_error()))
            }
        })?;
    let described = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| aws_error(name)(e.into_service_error()))?;
    described
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or_else(|| InfraError::Aws {
            resource: name.to_string(),
            message: "the table has no change stream".into(),
        })
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Result<String, InfraError> {
    let mut request = client.create_queue().queue_name(name);
    for (key, value) in attributes {
        request = request.attributes(key.clone(), value);
    }
    let output = request
        .send()
        .await
        .map_err(|e| aws_error(name)(e.into_service_error()))?;
    output.queue_url.ok_or_else(|| InfraError::Aws {
        resource: name.to_string(),
        message: "no queue URL returned".into(),
    })
}

async fn ensure_queue(
    client: &aws_sdk_sqs::Client,
    queue: &QueueSpec,
) -> Result<(String, String), InfraError> {
    let dlq = &queue.dead_letter;
    let dlq_url = create_queue(
        client,
        &dlq.name,
        &[(
            QueueAttributeName::MessageRetentionPeriod,
            dlq.retention_secs.to_string(),
        )],
    )
    .await?;
    let dlq_arn = queue_arn(client, &dlq_url).await?;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": dlq.max_receive_count});
    let url = create_queue(
        client,
        &queue.name,
        &[
            (
                QueueAttributeName::VisibilityTimeout,
                queue.visibility_timeout_secs.to_string(),
            ),
            (
                QueueAttributeName::MessageRetentionPeriod,
                queue.retention_secs.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ],
    )
    .await?;
    Ok((url, dlq_url))
}

/// A request the SDK's builder refused to build (a required field missing).
fn build_error(resource: &str) -> impl Fn(aws_sdk_s3::error::BuildError) -> InfraError + '_ {
    move |error| InfraError::Aws {
        resource: resource.into(),
        message: error.to_string(),
    }
}

async fn ensure_bucket(client: &aws_sdk_s3::Client, bucket: &BucketSpec) -> Result<(), InfraError> {
    let name = bucket.name.as_str();
    if client.head_bucket().bucket(name).send().await.is_err() {
        match client.create_bucket().bucket(name).send().await {
            Ok(_) => tracing::info!(bucket = name, "bucket created"),
            Err(error)
                if matches!(
                    error.code(),
                    Some("BucketAlreadyOwnedByYou") | Some("BucketAlreadyExists")
                ) => {}
            Err(error) => return Err(aws_error(name)(error.into_service_error())),
        }
    }
    let default_encryption = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(build_error(name))?;
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default_encryption)
                .build(),
        )
        .build()
        .map_err(build_error(name))?;
    client
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(encryption)
        .send()
        .await
        .map_err(|e| aws_error(name)(e.into_service_error()))?;
    client
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error(name)(e.into_service_error()))?;
    let cors = &bucket.cors;
    let strings = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
    let rule = aws_sdk_s3::types::CorsRule::builder()
        .set_allowed_methods(Some(strings(cors.allowed_methods)))
        .set_allowed_origins(Some(strings(cors.allowed_origins)))
        .set_allowed_headers(Some(strings(cors.allowed_headers)))
        .max_age_seconds(i32::try_from(cors.max_age_secs).unwrap_or(i32::MAX))
        .build()
        .map_err(build_error(name))?;
    let configuration = aws_sdk_s3::types::CorsConfiguration::builder()
        .cors_rules(rule)
        .build()
        .map_err(build_error(name))?;
    client
        .put_bucket_cors()
        .bucket(name)
        .cors_configuration(configuration)
        .send()
        .await
        .map_err(|e| aws_error(name)(e.into_service_error()))?;
    Ok(())
}

/// The domain the local gateway and the tests send R35's emails from, verified on the emulator
/// (SES refuses to send from an unverified identity; on AWS the template's `EmailFrom`
/// parameter names one the deployer verified).
pub const LOCAL_EMAIL_DOMAIN: &str = "relay.localhost";

async fn ensure_email_identity(config: &SdkConfig, domain: &str) -> Result<(), InfraError> {
    let ses = aws_sdk_sesv2::Client::new(config);
    match ses
        .create_email_identity()
        .email_identity(domain)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(InfraError::Aws {
            resource: domain.into(),
            message: format!("{error:?}"),
        }),
    }
}

async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> Result<String, InfraError> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws_error(url)(e.into_service_error()))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| InfraError::Aws {
            resource: url.to_string(),
            message: "no queue ARN returned".into(),
        })
}

/// `s3:ObjectCreated:*` under each prefix → its queue, which must let the bucket send to it
/// (the queue policies `template.yaml` also states).
async fn ensure_bucket_notifications(
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    bucket: &BucketSpec,
    notified: &[(String, &str)],
) -> Result<(), InfraError> {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration,
        NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    };
    let name = bucket.name.as_str();
    let build_error = |e: aws_sdk_s3::error::BuildError| InfraError::Aws {
        resource: name.into(),
        message: e.to_string(),
    };
    let mut configurations = Vec::new();
    for (n, (queue_arn, prefix)) in notified.iter().enumerate() {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:s3:::{name}")}}
            }]
        });
        let queue_url = sqs
            .get_queue_url()
            .queue_name(queue_arn.rsplit(':').next().unwrap_or_default())
            .send()
            .await
            .map_err(|e| aws_error(queue_arn)(e.into_service_error()))?
            .queue_url
            .unwrap_or_default();
        sqs.set_queue_attributes()
            .queue_url(queue_url)
            .attributes(QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .map_err(|e| aws_error(queue_arn)(e.into_service_error()))?;
        configurations.push(
            QueueConfiguration::builder()
                .id(format!("object-created-{n}"))
                .queue_arn(queue_arn)
                .events(Event::from("s3:ObjectCreated:*"))
                .filter(
                    NotificationConfigurationFilter::builder()
                        .key(
                            S3KeyFilter::builder()
                                .filter_rules(
                                    FilterRule::builder()
                                        .name(FilterRuleName::Prefix)
                                        .value(*prefix)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
                .map_err(build_error)?,
        );
    }
    s3.put_bucket_notification_configuration()
        .bucket(name)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(configurations))
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error(name)(e.into_service_error()))?;
    Ok(())
}
