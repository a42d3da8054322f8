//! The resource definition applied to the emulator: creation is idempotent and yields the
//! declared table, queues (with redrive to their DLQs) and bucket.

use integration_tests::emulator_config;

#[tokio::test]
async fn ensure_is_idempotent_and_creates_what_the_definition_declares() {
    let config = emulator_config().await;
    let resources = infra::definition("relay-ensure-test");
    let first = infra::ensure(&config, &resources)
        .await
        .expect("first ensure");
    let second = infra::ensure(&config, &resources)
        .await
        .expect("second ensure");
    assert_eq!(first, second);

    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let table = ddb
        .describe_table()
        .table_name(&resources.table.name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            ("pk".to_string(), "HASH".to_string()),
            ("sk".to_string(), "RANGE".to_string())
        ]
    );
    let mut indexes: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    indexes.sort_unstable();
    let mut declared: Vec<&str> = resources.table.indexes.iter().map(|i| i.name).collect();
    declared.sort_unstable();
    assert_eq!(indexes, declared);

    let sqs = aws_sdk_sqs::Client::new(&config);
    for queue in &resources.queues {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(first.queue_url(queue.logical_id).unwrap())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        let redrive: serde_json::Value = serde_json::from_str(
            &attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy],
        )
        .unwrap();
        assert_eq!(
            redrive["maxReceiveCount"].to_string(),
            queue.dead_letter.max_receive_count.to_string()
        );
        assert!(redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with(&queue.dead_letter.name));
        assert_eq!(
            attributes[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
            queue.visibility_timeout_secs.to_string()
        );
    }
}

#[tokio::test]
async fn ensure_adds_indexes_missing_from_a_table_of_an_older_definition() {
    let config = emulator_config().await;
    // A name of this run's own: on a reused emulator a fixed one would already have every
    // index, and the upgrade path would never run. (Hex only: it also names a bucket.)
    let run = domain::ids::new_id("u").replace('_', "");
    let current = infra::definition(&format!("relay-upgrade-{}", &run[..12]));
    let mut older = current.clone();
    older.table.indexes.truncate(1);
    let indexes = || async {
        let table = aws_sdk_dynamodb::Client::new(&config)
            .describe_table()
            .table_name(&current.table.name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let mut names: Vec<String> = table
            .global_secondary_indexes()
            .iter()
            .filter_map(|i| i.index_name().map(str::to_string))
            .collect();
        names.sort_unstable();
        names
    };
    infra::ensure(&config, &older)
        .await
        .expect("create the older table");
    assert_eq!(indexes().await, vec!["gsi1"], "the older table");
    infra::ensure(&config, &current).await.expect("upgrade it");
    let mut every: Vec<String> = current
        .table
        .indexes
        .iter()
        .map(|i| i.name.to_string())
        .collect();
    every.sort_unstable();
    assert!(every.len() > 1, "the upgrade must add something");
    assert_eq!(indexes().await, every);
}
