//! S3 adapter of the attachments bucket. Uploads go straight from the client to S3 with a
//! presigned POST whose policy carries `content-length-range`, so S3 itself refuses a body
//! larger than admitted; the size is checked again after upload (emulators may not enforce it).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::config::ProvideCredentials;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::Client;
use base64::Engine;

use crate::on_demand::OnDemand;
use domain::attachments::UploadTarget;
use use_cases::error::StoreError;
use use_cases::ports::{ObjectHead, ObjectStore};

/// The attachments bucket on S3 (or an emulator: path-style addressing when an endpoint is set).
#[derive(Clone)]
pub struct S3Objects {
    client: Arc<OnDemand<Client>>,
    sdk: SdkConfig,
    bucket: String,
}

impl S3Objects {
    /// The client is built on first use: presigning an upload needs none.
    pub fn new(sdk: &SdkConfig, bucket: impl Into<String>) -> Self {
        let config = sdk.clone();
        Self {
            client: OnDemand::new(move || {
                Client::from_conf(
                    aws_sdk_s3::config::Builder::from(&config)
                        .force_path_style(config.endpoint_url().is_some())
                        .build(),
                )
            }),
            sdk: sdk.clone(),
            bucket: bucket.into(),
        }
    }

    fn region(&self) -> String {
        self.sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into())
    }

    /// Where a browser posts the form: the bucket's own endpoint.
    fn bucket_url(&self) -> String {
        match self.sdk.endpoint_url() {
            Some(endpoint) => format!("{}/{}", endpoint.trim_end_matches('/'), self.bucket),
            None => format!("https://{}.s3.{}.amazonaws.com", self.bucket, self.region()),
        }
    }
}

/// The SigV4 signature of a POST policy (AWS "Browser-based uploads using POST"): the SDK's
/// own signing key and signature functions over the base64 policy as the string to sign.
fn sign_post_policy(secret: &str, at: SystemTime, region: &str, policy_b64: &str) -> String {
    let key = aws_sigv4::sign::v4::generate_signing_key(secret, at, region, "s3");
    aws_sigv4::sign::v4::calculate_signature(key, policy_b64.as_bytes())
}

/// A precondition on the object's ETag that failed (412) means it was replaced: `Conflict`;
/// anything else as every adapter maps it.
fn replaced_or<E>(
    error: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> StoreError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let precondition_failed = error
        .raw_response()
        .is_some_and(|r| r.status().as_u16() == 412)
        || aws_sdk_s3::error::ProvideErrorMetadata::code(&error) == Some("PreconditionFailed");
    if precondition_failed {
        return StoreError::Conflict;
    }
    crate::sdk_error(error)
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        ttl_secs: u64,
    ) -> Result<UploadTarget, StoreError> {
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| StoreError::Internal("no AWS credentials provider".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| StoreError::Unavailable(format!("credentials: {e}")))?;
        let now = chrono::Utc::now();
        let expires = now + chrono::Duration::seconds(ttl_secs as i64);
        let date = now.format("%Y%m%d").to_string();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let region = self.region();
        let credential = format!(
            "{}/{date}/{region}/s3/aws4_request",
            credentials.access_key_id()
        );
        let mut fields = vec![
            ("key".to_string(), key.to_string()),
            ("Content-Type".to_string(), content_type.to_string()),
            (
                "x-amz-algorithm".to_string(),
                "AWS4-HMAC-SHA256".to_string(),
            ),
            ("x-amz-credential".to_string(), credential),
            ("x-amz-date".to_string(), amz_date),
        ];
        if let Some(token) = credentials.session_token() {
            fields.push(("x-amz-security-token".to_string(), token.to_string()));
        }
        let mut conditions = vec![
            serde_json::json!({"bucket": self.bucket}),
            serde_json::json!(["content-length-range", 1, max_bytes]),
        ];
        conditions.extend(
            fields
                .iter()
                .map(|(name, value)| serde_json::json!({ name.as_str(): value })),
        );
        let policy = serde_json::json!({
            "expiration": expires.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "conditions": conditions,
        });
        let policy_b64 = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        let signature = sign_post_policy(
            credentials.secret_access_key(),
            now.into(),
            &region,
            &policy_b64,
        );
        fields.push(("policy".to_string(), policy_b64));
        fields.push(("x-amz-signature".to_string(), signature));
        Ok(UploadTarget {
            method: "POST".into(),
            url: self.bucket_url(),
            fields,
            headers: Vec::new(),
            expires_at: expires.timestamp_millis(),
        })
    }

    async fn object_head(&self, key: &str) -> Result<Option<ObjectHead>, StoreError> {
        match self
            .client
            .get()
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(ObjectHead {
                size: head.content_length().unwrap_or(0).max(0) as u64,
                etag: head.e_tag().unwrap_or_default().to_string(),
            })),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(error) => Err(crate::sdk_error(error)),
        }
    }

    async fn read_prefix(
        &self,
        key: &str,
        max_bytes: u64,
        etag: &str,
    ) -> Result<Vec<u8>, StoreError> {
        let output = self
            .client
            .get()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .if_match(etag)
            .range(format!("bytes=0-{}", max_bytes.saturating_sub(1)))
            .send()
            .await
            .map_err(replaced_or)?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("reading object: {e}")))?
            .into_bytes();
        // A server ignoring Range sends everything; keep the promise of at most `max_bytes`.
        Ok(bytes[..bytes.len().min(max_bytes as usize)].to_vec())
    }

    async fn copy_if_unchanged(&self, from: &str, to: &str, etag: &str) -> Result<(), StoreError> {
        let copied = self
            .client
            .get()
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{from}", self.bucket))
            .copy_source_if_match(etag)
            .key(to)
            .send()
            .await
            .map_err(replaced_or)?;
        // S3 refuses the copy itself (412) when the source changed. An emulator that ignores
        // the precondition (moto does) is caught here: a single-part object's ETag is the
        // digest of its bytes, so a copy of other bytes has another tag; that copy is removed.
        let copied_etag = copied
            .copy_object_result()
            .and_then(|result| result.e_tag())
            .unwrap_or_default();
        if copied_etag.trim_matches('"') != etag.trim_matches('"') {
            self.delete(to).await?;
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn put_object(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.client
            .get()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map_err(crate::sdk_error)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .get()
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(crate::sdk_error)?;
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        // A conversation holds a handful of files: one listing page and a delete each (a
        // DeleteObjects call would need a Content-MD5 some S3 emulators disagree on).
        let mut deleted = 0;
        let mut continuation = None;
        loop {
            let page = self
                .client
                .get()
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(continuation)
                .send()
                .await
                .map_err(crate::sdk_error)?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    self.delete(key).await?;
                    deleted += 1;
                }
            }
            continuation = page.next_continuation_token().map(str::to_string);
            if continuation.is_none() {
                return Ok(deleted);
            }
        }
    }

    async fn download_url(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        ttl_secs: u64,
    ) -> Result<String, StoreError> {
        let presigning = PresigningConfig::expires_in(Duration::from_secs(ttl_secs))
            .map_err(|e| StoreError::Internal(format!("presigning: {e}")))?;
        let request = self
            .client
            .get()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(domain::attachments::content_disposition(file_name))
            .response_content_type(content_type)
            .presigned(presigning)
            .await
            .map_err(crate::sdk_error)?;
        Ok(request.uri().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2012-02-15T00:00:00Z, the day of AWS's signing-key example.
    fn feb_15_2012() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_329_264_000)
    }

    #[test]
    fn signing_key_matches_the_aws_documentation_vector() {
        // "Examples of how to derive a signing key for Signature Version 4" (AWS General
        // Reference): the key we sign policies with is the documented one for that day.
        let key = aws_sigv4::sign::v4::generate_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            feb_15_2012(),
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key.as_ref()),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn a_post_policy_signature_matches_the_aws_documentation_vector() {
        // "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)"
        // (Amazon S3 API Reference): its base64 policy, credentials and date give this
        // signature.
        let policy_b64 = concat!(
            "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6",
            "IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRo",
            "IiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAg",
            "IHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5h",
            "bWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwg",
            "IiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUx",
            "MjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0s",
            "DQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16",
            "LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3",
            "czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwN",
            "CiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9",
        );
        let dec_29_2015 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_451_347_200);
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            sign_post_policy(secret, dec_29_2015, "us-east-1", policy_b64),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
        // Positive control: the next day's key signs the same policy differently.
        let next_day = dec_29_2015 + Duration::from_secs(24 * 3600);
        assert_ne!(
            sign_post_policy(secret, next_day, "us-east-1", policy_b64),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }
}
