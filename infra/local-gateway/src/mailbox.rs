//! The local gateway's email routes (R35), never deployed: on AWS, SES's receipt rule puts
//! inbound mail in the bucket and `email-inbound` reads it from its queue.
//!
//! - `POST /_local/email/inbound` takes a raw RFC 5322 message (as SES would store it), puts
//!   it in the bucket under `e/in/` and receives it at once, answering what became of it;
//! - `GET /_local/email/failures` lists the mail dropped (newest first);
//! - `POST /_local/email/reply-address/{account}/{conversation}` mints the reply address an
//!   outgoing email of that conversation carries, to play a reply by hand.

use bytes::Bytes;
use edge::api::{error_response, json as json_response, respond, ApiError, ApiResponse};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use domain::email::inbound::{INBOUND_MAIL_PREFIX, MAX_INBOUND_MAIL_BYTES};
use use_cases::backend::Backend;
use use_cases::email::inbound::{receive, InboundError, Received};

/// Every route of this module starts with this.
pub const LOCAL_EMAIL_PATH: &str = "/_local/email/";

fn outcome(received: &Received) -> Value {
    match received {
        Received::Appended {
            account_id,
            conversation_id,
            seq,
            session_no,
            replayed,
            refused_files,
        } => json!({
            "outcome": "appended",
            "account_id": account_id,
            "conversation_id": conversation_id,
            "seq": seq,
            "session_no": session_no,
            "replayed": replayed,
            "refused_files": refused_files
                .iter()
                .map(|(name, reason)| json!({"file_name": name, "reason": reason}))
                .collect::<Vec<_>>(),
        }),
        Received::Dropped { reason } => json!({"outcome": "dropped", "reason": reason}),
    }
}

/// Serves a request under [`LOCAL_EMAIL_PATH`], answering as the API does (its JSON, its error
/// bodies, its mapping of store failures).
pub async fn serve(backend: &Backend, parts: http::request::Parts, body: Incoming) -> ApiResponse {
    respond(route(backend, parts, body).await)
}

async fn route(
    backend: &Backend,
    parts: http::request::Parts,
    body: Incoming,
) -> Result<ApiResponse, ApiError> {
    let rest = parts
        .uri
        .path()
        .strip_prefix(LOCAL_EMAIL_PATH)
        .unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').collect();
    match (&parts.method, segments.as_slice()) {
        (&Method::POST, ["inbound"]) => {
            let raw = Limited::new(body, MAX_INBOUND_MAIL_BYTES as usize)
                .collect()
                .await
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "a raw mail holds at most 40 MB",
                    )
                })?
                .to_bytes();
            let key = format!("{INBOUND_MAIL_PREFIX}{}", hex::encode(Sha256::digest(&raw)));
            backend
                .objects
                .put_object(&key, raw.to_vec(), "message/rfc822")
                .await?;
            let received = receive(backend, &key, domain::now_ms())
                .await
                .map_err(|InboundError::Store(error)| error)?;
            let mut body = outcome(&received);
            body["object_key"] = json!(key);
            Ok(json_response(StatusCode::OK, &body))
        }
        (&Method::GET, ["failures"]) => {
            let failures = backend.store.email_failures(100).await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({ "failures": failures }),
            ))
        }
        (&Method::POST, ["reply-address", account_id, conversation_id]) => {
            backend
                .store
                .get_conversation(account_id, conversation_id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let address = use_cases::email::reply_address(
                backend.store.as_ref(),
                account_id,
                conversation_id,
                &adapters::wiring::local_sender().reply_domain,
                domain::now_ms(),
            )
            .await?;
            Ok(json_response(
                StatusCode::CREATED,
                &json!({ "address": address }),
            ))
        }
        _ => Err(ApiError::route_not_found()),
    }
}

/// The mailbox page and its JSON view.
pub const MAILBOX_PATH: &str = "/mailbox/";
pub const MAILBOX_JSON_PATH: &str = "/mailbox/messages.json";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `/mailbox/` (a page listing every email sent, newest first) or `/mailbox/messages.json`.
pub fn serve_mailbox(
    mailbox: &adapters::memory::MemoryMailbox,
    path: &str,
) -> hyper::Response<Full<Bytes>> {
    let mut sent = mailbox.sent();
    sent.reverse();
    if path == MAILBOX_JSON_PATH {
        return crate::into_hyper(json_response(StatusCode::OK, &json!({ "messages": sent })));
    }
    if path != MAILBOX_PATH {
        return crate::into_hyper(error_response(&ApiError::route_not_found()));
    }
    let mut items = String::new();
    for mail in &sent {
        items.push_str(&format!(
            "<li><article><h2>{subject}</h2><dl><dt>To</dt><dd>{to}</dd><dt>From</dt><dd>{from}</dd>\
<dt>Reply to</dt><dd>{reply_to}</dd><dt>Message-ID</dt><dd>{id}</dd></dl><pre>{text}</pre></article></li>",
            subject = escape(&mail.email.subject),
            to = escape(&mail.email.to),
            from = escape(&mail.from),
            reply_to = escape(&mail.email.reply_to),
            id = escape(&mail.message_id),
            text = escape(&mail.email.text),
        ));
    }
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mailbox: Relay</title>\
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:2rem;max-width:50rem}}li{{list-style:none;border-top:1px solid #888;padding:1rem 0}}\
dt{{font-weight:bold}}pre{{white-space:pre-wrap}}</style></head><body><main><h1>Mailbox</h1>\
<p>Every email the local gateway sent (newest first; <a href=\"messages.json\">JSON</a>). Play a reply at \
<code>POST /_local/email/inbound</code>.</p>{list}</main></body></html>",
        list = if sent.is_empty() {
            "<p>No email sent yet.</p>".to_string()
        } else {
            format!("<ul>{items}</ul>")
        }
    );
    hyper::Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/html; charset=utf-8")
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        )
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}
