//! Email replies (#37, R35, inbound): a raw mail played at the local gateway's
//! `/_local/email/inbound` (what SES's receipt rule stores in the bucket) or announced to the
//! `email-inbound` function by the bucket's notification becomes the end user's message, once,
//! trimmed, its files checked as uploads; forged, foreign and expired tokens append nothing and
//! the raw mail stays in the bucket, listed as a failure.

use domain::email::inbound::INBOUND_MAIL_PREFIX;
use domain::email::reply_token::{mint, reply_address, REPLY_TOKEN_TTL_MS};
use domain::model::{Role, TicketStatus};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use use_cases::ports::ReceivedMessage;

const DOMAIN: &str = "reply.example.test";

/// A reply as Gmail (web, English) writes one: text and HTML alternatives, the quoted thread
/// under "On … wrote:".
fn gmail_reply(to: &str, message_id: &str, text: &str) -> Vec<u8> {
    format!(
        "MIME-Version: 1.0\r\n\
Date: Mon, 7 Dec 2026 10:02:11 +0100\r\n\
Message-ID: <{message_id}>\r\n\
In-Reply-To: <relay-1@example.test>\r\n\
Subject: Re: Your conversation with Acme support\r\n\
From: Alice Martin <alice@example.org>\r\n\
To: Acme Support <{to}>\r\n\
Content-Type: multipart/alternative; boundary=\"000000000000a1b2c3\"\r\n\
\r\n\
--000000000000a1b2c3\r\n\
Content-Type: text/plain; charset=\"UTF-8\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
{text}\r\n\
\r\n\
On Mon, Dec 7, 2026 at 9:55 AM Acme Support <{to}> wrote:\r\n\
\r\n\
> Could you send us your order number?\r\n\
>\r\n\
--000000000000a1b2c3\r\n\
Content-Type: text/html; charset=\"UTF-8\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<div dir=3D\"ltr\">{text}</div><br><div class=3D\"gmail_quote\">On Mon, Dec 7, 2026 at 9:55 AM Acme Support wrote:<br><blockquote>Could you send us your order number?</blockquote></div>\r\n\
--000000000000a1b2c3--\r\n"
    )
    .into_bytes()
}

/// Plays `raw` at the local gateway; the JSON answer.
async fn play(app: &TestApp, raw: Vec<u8>) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/_local/email/inbound", app.base_url))
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("a JSON answer")
}

async fn address_for(app: &TestApp, cid: &str) -> String {
    use_cases::email::reply_address(
        app.backend.store.as_ref(),
        &app.account.id,
        cid,
        DOMAIN,
        domain::now_ms(),
    )
    .await
    .expect("an address")
}

fn end_user_texts(messages: &[domain::model::Message]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m.author_role == domain::model::AuthorRole::EndUser)
        .filter_map(|m| m.text.clone())
        .collect()
}

#[tokio::test]
async fn an_email_reply_is_the_end_users_message_once_however_often_it_arrives() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("mail-eu-1").await;
    let to = address_for(&app, &cid).await;
    let id = format!("{}@mail.gmail.com", domain::ids::new_id("m"));
    let raw = gmail_reply(&to, &id, "My order number is 4417, thanks!");

    let first = play(&app, raw.clone()).await;
    assert_eq!(first["outcome"], "appended", "{first}");
    assert_eq!(first["conversation_id"], cid.as_str());
    assert_eq!(first["replayed"], false);
    // SES delivering the same mail again (or the queue redelivering it): nothing new.
    let again = play(&app, raw).await;
    assert_eq!(again["outcome"], "appended", "{again}");
    assert_eq!(again["replayed"], true);
    assert!(first["seq"].is_u64(), "{first}");
    assert_eq!(again["seq"], first["seq"]);

    let texts = end_user_texts(&app.stored_messages(&cid).await);
    assert_eq!(texts, ["My order number is 4417, thanks!"], "{texts:?}");
    // The end user reads it in the widget like any message of theirs.
    let seen = app
        .messages_when(&cid, &app.token(Role::EndUser, "mail-eu-1"), 1)
        .await;
    assert!(
        seen.iter()
            .any(|m| m["text"] == "My order number is 4417, thanks!"),
        "{seen:?}"
    );
    // Positive control for the trim: the quoted question is in the raw mail, not the message.
    assert!(!texts.iter().any(|t| t.contains("order number?")));
}

#[tokio::test]
async fn forged_foreign_and_expired_tokens_append_nothing_and_the_raw_mail_stays() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("mail-eu-2").await;
    // The account's secret exists (an address was minted), so a failure is the token's own.
    let genuine = address_for(&app, &cid).await;
    let now = domain::now_ms();
    // A token of the right shape that no grant names.
    let forged = reply_address(&"0123456789abcdef".repeat(3)[..36], DOMAIN);
    // A grant naming this account's conversation, signed with another account's secret.
    let other_secret = app
        .backend
        .store
        .create_email_secret(&app.other_account.id, b"another account's secret")
        .await
        .expect("secret");
    let (grant, token) = mint(&other_secret, &app.account.id, &cid, now);
    app.backend.store.put_reply_grant(&grant).await.unwrap();
    let foreign = reply_address(&token, DOMAIN);
    // A genuine grant minted long ago.
    let secret = app
        .backend
        .store
        .email_secret(&app.account.id)
        .await
        .unwrap()
        .expect("minted above");
    let (old, old_token) = mint(&secret, &app.account.id, &cid, now - REPLY_TOKEN_TTL_MS - 1);
    app.backend.store.put_reply_grant(&old).await.unwrap();
    let expired = reply_address(&old_token, DOMAIN);

    for (to, reason) in [
        (forged, "forged_token"),
        (foreign, "forged_token"),
        (expired, "expired_token"),
    ] {
        let id = format!("{}@example.org", domain::ids::new_id("m"));
        let answer = play(&app, gmail_reply(&to, &id, "Let me in")).await;
        assert_eq!(answer["outcome"], "dropped", "{to}: {answer}");
        assert_eq!(answer["reason"], reason, "{to}");
        let key = answer["object_key"].as_str().unwrap();
        assert!(key.starts_with(INBOUND_MAIL_PREFIX));
        assert!(
            app.backend
                .objects
                .object_head(key)
                .await
                .unwrap()
                .is_some(),
            "the raw mail stays in the bucket"
        );
        let failures: Value = reqwest::get(format!("{}/_local/email/failures", app.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            failures["failures"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["object_key"] == key && f["reason"] == reason),
            "{failures}"
        );
    }
    assert!(end_user_texts(&app.stored_messages(&cid).await).is_empty());
    // Positive control: the genuine address of the same conversation appends.
    let id = format!("{}@example.org", domain::ids::new_id("m"));
    let answer = play(&app, gmail_reply(&genuine, &id, "Let me in")).await;
    assert_eq!(answer["outcome"], "appended", "{answer}");
}

#[tokio::test]
async fn a_reply_to_a_closed_ticket_starts_a_new_session() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("mail-eu-3").await;
    let to = address_for(&app, &cid).await;
    let mut closed = app.stored_conversation(&cid).await;
    closed.ticket_status = TicketStatus::Closed;
    closed.session = domain::model::SessionState::Ended;
    closed.revision += 1;
    app.backend
        .store
        .update_conversation(&closed)
        .await
        .unwrap();
    let id = format!("{}@example.org", domain::ids::new_id("m"));
    let answer = play(&app, gmail_reply(&to, &id, "It broke again")).await;
    assert_eq!(answer["outcome"], "appended", "{answer}");
    assert_eq!(answer["session_no"], 2, "{answer}");
    let now = app.stored_conversation(&cid).await;
    assert_eq!(now.session_no, 2);
    assert_eq!(now.ticket_status, TicketStatus::New);
}

/// An HTML-only reply (no text part) with files: the clean ones cited by the message, the
/// one R18 refuses named in the answer; the text is the HTML's, trimmed.
#[tokio::test]
async fn html_only_mail_with_files_passes_the_upload_checks() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("mail-eu-4").await;
    let to = address_for(&app, &cid).await;
    let id = format!("{}@outlook.com", domain::ids::new_id("m"));
    let png = base64_lines(&tiny_png());
    let raw = format!(
        "MIME-Version: 1.0\r\n\
Message-ID: <{id}>\r\n\
Subject: RE: Your conversation\r\n\
From: Bob <bob@example.org>\r\n\
To: <{to}>\r\n\
Content-Type: multipart/mixed; boundary=\"mix\"\r\n\
\r\n\
--mix\r\n\
Content-Type: text/html; charset=\"utf-8\"\r\n\
\r\n\
<html><body><p>Here is the screenshot you asked for.</p>\
<div id=\"divRplyFwdMsg\"><b>From:</b> Acme Support<br><b>Sent:</b> Monday<br><b>To:</b> Bob<br><b>Subject:</b> Your conversation</div>\
<p>Please send a screenshot.</p></body></html>\r\n\
--mix\r\n\
Content-Type: image/png; name=\"screen.png\"\r\n\
Content-Disposition: attachment; filename=\"screen.png\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
{png}\r\n\
--mix\r\n\
Content-Type: application/octet-stream; name=\"setup.exe\"\r\n\
Content-Disposition: attachment; filename=\"setup.exe\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
TVqQAAMAAAAEAAAA\r\n\
--mix--\r\n"
    );
    let answer = play(&app, raw.into_bytes()).await;
    assert_eq!(answer["outcome"], "appended", "{answer}");
    let refused = answer["refused_files"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{answer}");
    assert_eq!(refused[0]["file_name"], "setup.exe");
    let (mine, attachment) = reply_with_one_file(&app, &cid).await;
    let text = mine.text.clone().unwrap_or_default();
    assert!(text.contains("Here is the screenshot"), "{text}");
    assert!(!text.contains("Please send a screenshot"), "{text}");
    assert_eq!(
        attachment.status,
        domain::attachments::AttachmentStatus::Clean
    );
    assert_eq!(attachment.file_name, "screen.png");
}

/// The deployed path: the bucket's notification of a stored mail, as SQS hands it to the
/// `email-inbound` function; a 20 MB file in it; a mail that is not MIME at all.
#[tokio::test]
async fn the_function_reads_notified_mail_with_a_20_mb_file_and_survives_garbage() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("mail-eu-5").await;
    let to = address_for(&app, &cid).await;
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(20 * 1024 * 1024, b' ');
    pdf.extend_from_slice(b"\n%%EOF\n");
    let raw = format!(
        "Message-ID: <{}@icloud.com>\r\nFrom: c@example.org\r\nTo: {to}\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nThe contract, signed.\r\n\r\nSent from my iPhone\r\n\
--b\r\nContent-Type: application/pdf; name=\"contract.pdf\"\r\n\
Content-Disposition: attachment; filename=\"contract.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        domain::ids::new_id("m"),
        base64_lines(&pdf)
    );
    let key = format!("{INBOUND_MAIL_PREFIX}{}", domain::ids::new_id("mail"));
    let garbage = format!("{INBOUND_MAIL_PREFIX}{}", domain::ids::new_id("mail"));
    let objects = &app.backend.objects;
    objects
        .put_object(&key, raw.into_bytes(), "message/rfc822")
        .await
        .unwrap();
    objects
        .put_object(&garbage, vec![0xff, 0x00, 0x13], "message/rfc822")
        .await
        .unwrap();
    let batch: Vec<ReceivedMessage> = [&key, &garbage]
        .iter()
        .enumerate()
        .map(|(i, key)| ReceivedMessage {
            message_id: format!("sqs-{i}"),
            receipt: format!("r-{i}"),
            body: json!({"Records": [{
                "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "relay"}, "object": {"key": key, "size": 1}}
            }]})
            .to_string(),
            receive_count: 1,
        })
        .collect();
    let failed = email_inbound::handle_events(&app.backend, &batch).await;
    assert!(failed.is_empty(), "{failed:?}");
    let (mine, attachment) = reply_with_one_file(&app, &cid).await;
    assert_eq!(mine.text.as_deref(), Some("The contract, signed."));
    assert_eq!(attachment.size, Some(pdf.len() as u64));
    // The garbage is listed, and kept.
    let failures = app.backend.store.email_failures(50).await.unwrap();
    assert!(
        failures
            .iter()
            .any(|f| f.object_key == garbage && f.reason == "unparsable"),
        "{failures:?}"
    );
    assert!(objects.object_head(&garbage).await.unwrap().is_some());
}

/// The end user's message in `cid`, which must cite exactly one file, and that file's record.
async fn reply_with_one_file(
    app: &TestApp,
    cid: &str,
) -> (domain::model::Message, domain::attachments::Attachment) {
    let mine = app
        .stored_messages(cid)
        .await
        .into_iter()
        .find(|m| m.author_role == domain::model::AuthorRole::EndUser)
        .expect("the reply");
    assert_eq!(mine.attachment_ids.len(), 1, "{mine:?}");
    let attachment = app
        .backend
        .store
        .get_attachment(&app.account.id, cid, &mine.attachment_ids[0])
        .await
        .unwrap()
        .expect("stored");
    (mine, attachment)
}

fn tiny_png() -> Vec<u8> {
    // A 1×1 transparent PNG.
    base64_decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

/// `bytes` in base64, 76 characters a line (RFC 2045).
fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|line| std::str::from_utf8(line).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A mail of many files: ten are stored and inspected, the rest refused by name.
#[tokio::test]
async fn a_mail_of_many_files_keeps_ten() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("mail-eu-6").await;
    let to = address_for(&app, &cid).await;
    let png = base64_lines(&tiny_png());
    let mut raw = format!(
        "Message-ID: <{}@example.org>\r\nFrom: f@example.org\r\nTo: {to}\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nThe photos.\r\n",
        domain::ids::new_id("m")
    );
    for n in 1..=12 {
        raw.push_str(&format!(
            "--b\r\nContent-Type: image/png; name=\"p{n}.png\"\r\n\
Content-Disposition: attachment; filename=\"p{n}.png\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n"
        ));
    }
    raw.push_str("--b--\r\n");
    let answer = play(&app, raw.into_bytes()).await;
    assert_eq!(answer["outcome"], "appended", "{answer}");
    let refused: Vec<&str> = answer["refused_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["too_many_files", "too_many_files"], "{answer}");
    let cited: usize = app
        .stored_messages(&cid)
        .await
        .iter()
        .map(|m| m.attachment_ids.len())
        .sum();
    assert_eq!(cited, 10);
}
