//! The single definition of the product's AWS resources (table, queues with dead-letter
//! queues, bucket) and code that creates them, idempotently, on any AWS endpoint.
//!
//! `template.yaml` and the LocalStack init hook's `localstack/init/resources.json` restate
//! these definitions; tests in this crate fail when either drifts from [`definition`].
//!
//! `definition` is the data; `provision` creates it.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;
use thiserror::Error;

mod definition;
mod doctor;
mod provision;

pub use definition::*;
pub use doctor::*;
pub use provision::*;
