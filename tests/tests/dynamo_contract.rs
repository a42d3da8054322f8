//! The adapter contract suite against the DynamoDB and SQS adapters on the emulator.

use std::sync::Arc;

use integration_tests::{emulator_config, fresh_queue_url, provisioned};
use shared::adapters::dynamo::DynamoStore;
use shared::adapters::sqs::SqsQueue;
use shared::ports::{Queue, Store};

async fn dynamo_store() -> Arc<dyn Store> {
    let table = &provisioned().await.table_name;
    let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    Arc::new(DynamoStore::new(client, table))
}

async fn sqs_queue() -> Arc<dyn Queue> {
    provisioned().await;
    let url = fresh_queue_url().await;
    Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::new(&emulator_config().await),
        url,
    ))
}

mod store {
    use super::*;
    shared::store_contract_tests!(dynamo_store());
}

mod queue {
    use super::*;
    shared::queue_contract_tests!(sqs_queue());
}
