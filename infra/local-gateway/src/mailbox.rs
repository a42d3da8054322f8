//! The local gateway's email routes (R35), never deployed: on AWS, SES's receipt rule puts
//! inbound mail in the bucket and `email-inbound` reads it from its queue.
//!
//! - `POST /_local/email/inbound` takes a raw RFC 5322 message (as SES would store it), puts
//!   it in the bucket under `e/in/` and receives it at once, answering what became of it;
//! - `GET /_local/email/failures` lists the mail dropped (newest first);
//! - `POST /_local/email/reply-address/{account}/{conversation}` mints the reply address an
//!   outgoing email of that conversation carries, to play a reply by hand.

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use domain::email::inbound::{INBOUND_MAIL_PREFIX, MAX_INBOUND_MAIL_BYTES};
use use_cases::backend::Backend;
use use_cases::email::inbound::{receive, Received};

/// Every route of this module starts with this.
pub const LOCAL_EMAIL_PATH: &str = "/_local/email/";

/// The domain of reply addresses minted locally.
pub const LOCAL_REPLY_DOMAIN: &str = "reply.localhost";

fn respond(status: StatusCode, body: Value) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

fn error(status: StatusCode, code: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    respond(status, json!({"error": {"code": code, "message": message}}))
}

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

/// Serves a request under [`LOCAL_EMAIL_PATH`].
pub async fn serve(
    backend: &Backend,
    parts: http::request::Parts,
    body: Incoming,
) -> hyper::Response<Full<Bytes>> {
    let rest = parts
        .uri
        .path()
        .strip_prefix(LOCAL_EMAIL_PATH)
        .unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').collect();
    match (&parts.method, segments.as_slice()) {
        (&Method::POST, ["inbound"]) => {
            let raw = match Limited::new(body, MAX_INBOUND_MAIL_BYTES as usize)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(_) => {
                    return error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "a raw mail holds at most 40 MB",
                    )
                }
            };
            let key = format!("{INBOUND_MAIL_PREFIX}{}", hex::encode(Sha256::digest(&raw)));
            if let Err(failure) = backend
                .objects
                .put_object(&key, raw.to_vec(), "message/rfc822")
                .await
            {
                tracing::warn!(%failure, "storing a played mail failed");
                return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again");
            }
            match receive(backend, &key, domain::now_ms()).await {
                Ok(received) => {
                    let mut body = outcome(&received);
                    body["object_key"] = json!(key);
                    respond(StatusCode::OK, body)
                }
                Err(failure) => {
                    tracing::warn!(%failure, "receiving a played mail failed");
                    error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again")
                }
            }
        }
        (&Method::GET, ["failures"]) => match backend.store.email_failures(100).await {
            Ok(failures) => respond(StatusCode::OK, json!({ "failures": failures })),
            Err(failure) => {
                tracing::warn!(%failure, "listing email failures failed");
                error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again")
            }
        },
        (&Method::POST, ["reply-address", account_id, conversation_id]) => {
            match backend
                .store
                .get_conversation(account_id, conversation_id)
                .await
            {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return error(StatusCode::NOT_FOUND, "not_found", "no such conversation")
                }
                Err(failure) => {
                    tracing::warn!(%failure, "reading a conversation failed");
                    return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again");
                }
            }
            match use_cases::email::reply_address(
                backend.store.as_ref(),
                account_id,
                conversation_id,
                LOCAL_REPLY_DOMAIN,
                domain::now_ms(),
            )
            .await
            {
                Ok(address) => respond(StatusCode::CREATED, json!({ "address": address })),
                Err(failure) => {
                    tracing::warn!(%failure, "minting a reply address failed");
                    error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again")
                }
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such local email route",
        ),
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
        return respond(StatusCode::OK, json!({ "messages": sent }));
    }
    if path != MAILBOX_PATH {
        return error(StatusCode::NOT_FOUND, "not_found", "no such mailbox page");
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
