//! The parts of S3's event notification this product reads: how an upload is announced (on
//! AWS by the bucket's notification to SQS; in memory by the local bucket, in the same format).

use serde::Deserialize;

/// The parts of an S3 event notification this product reads (S3 adds many more fields).
#[derive(Debug, Deserialize)]
pub struct S3EventNotification {
    /// Absent in the `s3:TestEvent` S3 sends when notifications are configured.
    #[serde(rename = "Records", default)]
    pub records: Vec<S3EventRecord>,
}

#[derive(Debug, Deserialize)]
pub struct S3EventRecord {
    #[serde(rename = "eventName")]
    pub event_name: String,
    pub s3: S3EventEntity,
}

#[derive(Debug, Deserialize)]
pub struct S3EventEntity {
    pub object: S3EventObject,
}

#[derive(Debug, Deserialize)]
pub struct S3EventObject {
    /// URL-encoded as in S3's notifications (`+` for a space).
    pub key: String,
}

impl S3EventRecord {
    /// The object key, decoded.
    pub fn object_key(&self) -> String {
        form_urlencoded::parse(format!("k={}", self.s3.object.key).as_bytes())
            .next()
            .map(|(_, key)| key.into_owned())
            .unwrap_or_default()
    }

    pub fn is_object_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated:")
    }
}

/// An `ObjectCreated:Put` notification in S3's format (the in-memory bucket emits these).
pub fn object_created_event(bucket: &str, key: &str, size: u64) -> String {
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket}, "object": {"key": encoded, "size": size}}
        }]
    })
    .to_string()
}
