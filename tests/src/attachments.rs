//! Attachments as a client moves them: uploads to the target the API gave, downloads, and
//! the S3 notifications that announce uploads.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{emulator_config, provisioned, Reply, TestApp};

impl TestApp {
    /// Sends a file's bytes to an upload target as a browser would (multipart POST with the
    /// form fields first, or PUT with the given headers); returns the HTTP status.
    pub async fn upload(&self, target: &Value, file_name: &str, bytes: Vec<u8>) -> StatusCode {
        let url = target["url"].as_str().expect("upload url");
        let request = match target["method"].as_str() {
            Some("POST") => {
                let mut form = reqwest::multipart::Form::new();
                for (name, value) in target["fields"].as_object().expect("fields") {
                    form = form.text(name.clone(), value.as_str().unwrap_or_default().to_string());
                }
                // S3 requires the file to be the last part.
                form = form.part(
                    "file",
                    reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
                );
                self.http.post(url).multipart(form)
            }
            Some("PUT") => {
                let mut request = self.http.put(url).body(bytes);
                if let Some(headers) = target["headers"].as_object() {
                    for (name, value) in headers {
                        request = request.header(name, value.as_str().unwrap_or_default());
                    }
                }
                request
            }
            other => panic!("unknown upload method {other:?}"),
        };
        request
            .send()
            .await
            .expect("upload target reachable")
            .status()
    }

    /// Admits, uploads and completes a file as `token`; returns the attachment id and the
    /// `complete` reply.
    pub async fn attach(
        &self,
        cid: &str,
        token: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> (String, Reply) {
        let admitted = self
            .post(
                &format!("/v1/conversations/{cid}/attachments"),
                token,
                json!({"file_name": file_name, "content_type": "application/octet-stream", "size": bytes.len()}),
            )
            .await;
        assert_eq!(
            admitted.status,
            StatusCode::CREATED,
            "{file_name}: {:?}",
            admitted.body
        );
        let aid = admitted.body["attachment_id"]
            .as_str()
            .expect("attachment id")
            .to_string();
        let status = self
            .upload(&admitted.body["upload"], file_name, bytes)
            .await;
        assert!(status.is_success(), "{file_name}: upload answered {status}");
        let completed = self
            .post(
                &format!("/v1/conversations/{cid}/attachments/{aid}/complete"),
                token,
                json!({}),
            )
            .await;
        (aid, completed)
    }

    /// Downloads a URL; returns status, headers and body.
    pub async fn download(&self, url: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let response = self.http.get(url).send().await.expect("download reachable");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("download body").to_vec();
        (status, headers, body)
    }

    /// Waits (up to 20 s) for S3's ObjectCreated notification of `key` on the provisioned
    /// notification queue, deletes it and returns its body. Other tests' notifications met on
    /// the way are made visible again at once, so tests waiting in parallel never take each
    /// other's.
    pub async fn take_attachment_notification(&self, key: &str) -> String {
        let sqs = aws_sdk_sqs::Client::new(&emulator_config().await);
        let url = provisioned()
            .await
            .queue_url("AttachmentEventsQueue")
            .expect("notification queue")
            .to_string();
        // The attachment id is unique and needs no URL encoding inside the event.
        let attachment_id = key.rsplit('/').next().unwrap_or(key);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        // The emulator may fail a call like AWS can: a failed call is tried again until the
        // deadline; a failed delete only means the notification is delivered again later.
        while std::time::Instant::now() < deadline {
            let received = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp,
                )
                .send()
                .await;
            let messages = match received {
                Ok(output) => output.messages.unwrap_or_default(),
                Err(error) => {
                    eprintln!("receive notifications failed ({error}); trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let mut found = None;
            for message in messages {
                // No test waits longer than this deadline: an older notification is nobody's.
                let stale = message
                    .attributes
                    .as_ref()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp)
                    })
                    .and_then(|t| t.parse::<i64>().ok())
                    .is_some_and(|sent| domain::now_ms() - sent > 60_000);
                let (body, receipt) = (
                    message.body.unwrap_or_default(),
                    message.receipt_handle.unwrap_or_default(),
                );
                let mine = found.is_none() && body.contains(attachment_id);
                if mine || stale {
                    if let Err(error) = sqs
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(&receipt)
                        .send()
                        .await
                    {
                        eprintln!("delete notification failed ({error}); it comes back later");
                    }
                    if mine {
                        found = Some(body);
                    }
                } else {
                    // Someone else's: back on the queue for them.
                    let _ = sqs
                        .change_message_visibility()
                        .queue_url(&url)
                        .receipt_handle(&receipt)
                        .visibility_timeout(0)
                        .send()
                        .await;
                }
            }
            if let Some(body) = found {
                return body;
            }
        }
        panic!("no S3 notification for {key}");
    }
}
