//! The email of unread replies (#37, R35, outbound) on the emulator, SES included: an agent's
//! reply schedules a check `messaging.email_followup_minutes` later; when it comes back to
//! route-conversation (as the routing queue hands it over), one email carries every reply the
//! end user has neither read nor been emailed, from a verified identity through SES, with a
//! reply address that brings the answer back into the conversation. A read before the check,
//! an open connection, no address or a suppressed one (a bounce) send nothing.

use std::sync::Arc;

use adapters::memory::MemoryMailbox;
use domain::email::outbound::EmailFollowup;
use domain::model::{Priority, Role};
use domain::realtime::{Stored, StoredChange};
use integration_tests::agents::{accept, agent, waiting};
use integration_tests::{json, TestApp};
use reqwest::StatusCode;
use use_cases::backend::Backend;
use use_cases::email::followup::{check, schedule_after, Followup};
use use_cases::ports::ReceivedMessage;

/// The app's backend sending through SES on the emulator, with a copy of what SES accepted.
async fn with_ses(app: &TestApp) -> (Backend, Arc<MemoryMailbox>) {
    let sdk = integration_tests::emulator_config().await;
    let ses = adapters::ses::SesMailer::new(&sdk, &adapters::wiring::local_email_config());
    let mailbox = Arc::new(MemoryMailbox::new(
        adapters::wiring::local_sender(),
        Some(Arc::new(ses)),
    ));
    let mut backend = app.backend.clone();
    backend.mailer = mailbox.clone();
    (backend, mailbox)
}

/// A conversation of `user` (who has `email`) accepted by agent `agent_id`.
async fn accepted_with_email(app: &TestApp, user: &str, email: &str, agent_id: &str) -> String {
    agent(app, agent_id, 1, &[], "online").await;
    let cid = waiting(app, user, Priority::Normal, None).await;
    assert_eq!(app.run_router().await, 0);
    let accepted = accept(app, agent_id, &cid).await;
    assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.body);
    // The end user's token says who they are: the address is kept on the conversation.
    let token = app.token_with_claims(Role::EndUser, user, json!({"email": email}));
    let sent = app.send_text(&cid, &token, "u-1", "Hello?").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    cid
}

/// The agent's reply; answers its seq.
async fn reply(app: &TestApp, agent_id: &str, cid: &str, id: &str, text: &str) -> u64 {
    let sent = app
        .send_text(cid, &app.token(Role::Agent, agent_id), id, text)
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    sent.body["message"]["seq"].as_u64().expect("a seq")
}

/// The check the reply at `seq` scheduled, as the fan-out queued it.
async fn scheduled(app: &TestApp, cid: &str, seq: u64) -> EmailFollowup {
    let message = app
        .stored_messages(cid)
        .await
        .into_iter()
        .find(|m| m.seq == seq)
        .expect("the reply");
    let queue = adapters::memory::MemoryQueue::new(std::time::Duration::from_secs(30), 5);
    let change = StoredChange {
        before: None,
        after: Some(Stored::Message(Box::new(message))),
    };
    let delay = schedule_after(&app.backend, &queue, &change).await.unwrap();
    assert_eq!(delay, Some(5 * 60), "the default wait, as an SQS delay");
    let queued = use_cases::ports::Queue::receive(&queue, 1).await.unwrap();
    assert!(queued.is_empty(), "invisible until its delay passes");
    EmailFollowup::after(match &change.after {
        Some(Stored::Message(m)) => m,
        _ => unreachable!(),
    })
    .expect("an agent's reply schedules a check")
}

/// Hands `followup` to route-conversation as the routing queue would.
async fn deliver(backend: &Backend, followup: &EmailFollowup) {
    let batch = [ReceivedMessage {
        message_id: "m-1".into(),
        receipt: "r-1".into(),
        body: serde_json::to_string(followup).unwrap(),
        receive_count: 1,
    }];
    let failed = route_conversation::handle_batch(backend, &batch).await;
    assert!(failed.is_empty(), "{failed:?}");
}

#[tokio::test]
async fn every_unread_reply_goes_out_in_one_email_whose_answer_comes_back() {
    let app = TestApp::start().await;
    let (backend, mailbox) = with_ses(&app).await;
    let cid = accepted_with_email(&app, "fu-1", "fu1@example.org", "fu-ag-1").await;
    let first = reply(&app, "fu-ag-1", &cid, "a-1", "Your parcel left today.").await;
    let second = reply(&app, "fu-ag-1", &cid, "a-2", "Tracking: ZX-41.").await;
    let (one, two) = (
        scheduled(&app, &cid, first).await,
        scheduled(&app, &cid, second).await,
    );

    deliver(&backend, &one).await;
    deliver(&backend, &two).await;
    let sent = mailbox.sent();
    assert_eq!(sent.len(), 1, "one email for both replies: {sent:?}");
    let email = &sent[0].email;
    assert_eq!(email.to, "fu1@example.org");
    assert_eq!(sent[0].from, "support@relay.localhost");
    assert!(
        email.text.contains("Your parcel left today."),
        "{}",
        email.text
    );
    assert!(email.text.contains("Tracking: ZX-41."), "{}", email.text);
    assert!(
        !email.text.contains("Hello?"),
        "the end user's own words are not sent back"
    );
    assert_eq!(email.subject, domain::locale::EN.email_subject);
    assert!(
        sent[0].message_id.ends_with("@email.amazonses.com>"),
        "SES sent it"
    );
    assert!(email.reply_to.starts_with("reply+"), "{}", email.reply_to);

    // The answer to that email joins the conversation.
    let raw = format!(
        "Message-ID: <answer-1@example.org>\r\nFrom: fu1@example.org\r\nTo: {}\r\n\
In-Reply-To: {}\r\nSubject: Re: {}\r\n\r\nThanks, got it!\r\n\r\n> Tracking: ZX-41.\r\n",
        email.reply_to, sent[0].message_id, email.subject
    );
    let key = format!("e/in/{}", domain::ids::new_id("mail"));
    backend
        .objects
        .put_object(&key, raw.into_bytes(), "message/rfc822")
        .await
        .unwrap();
    let received = use_cases::email::inbound::receive(&backend, &key, domain::now_ms())
        .await
        .unwrap();
    assert!(
        matches!(
            received,
            use_cases::email::inbound::Received::Appended { .. }
        ),
        "{received:?}"
    );
    let last = app.stored_messages(&cid).await;
    assert_eq!(
        last.last().and_then(|m| m.text.as_deref()),
        Some("Thanks, got it!")
    );

    // A later reply is a new email, threaded on the first.
    let third = reply(&app, "fu-ag-1", &cid, "a-3", "Anything else?").await;
    deliver(&backend, &scheduled(&app, &cid, third).await).await;
    let sent = mailbox.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[1].email.text.contains("Anything else?"));
    assert!(!sent[1].email.text.contains("Tracking"), "sent before");
    assert_eq!(
        sent[1].email.in_reply_to.as_deref(),
        Some(sent[0].message_id.as_str())
    );
}

#[tokio::test]
async fn a_read_reply_a_bounced_address_or_no_address_sends_nothing() {
    let app = TestApp::start().await;
    let (backend, mailbox) = with_ses(&app).await;

    // Read before the check came back.
    let cid = accepted_with_email(&app, "fu-2", "fu2@example.org", "fu-ag-2").await;
    let seq = reply(&app, "fu-ag-2", &cid, "a-1", "Done.").await;
    let read = app
        .post(
            &format!("/v1/conversations/{cid}/events"),
            &app.token(Role::EndUser, "fu-2"),
            json!({"type": "read", "seq": seq}),
        )
        .await;
    assert!(read.status.is_success(), "{:?}", read.body);
    let followup = scheduled(&app, &cid, seq).await;
    assert_eq!(
        check(&backend, &followup, domain::now_ms()).await.unwrap(),
        Followup::Nothing("read")
    );

    // SES reported a permanent bounce (its configuration set → SNS → the email queue): the
    // address gets no more email.
    let cid = accepted_with_email(&app, "fu-3", "Bounced@Example.org", "fu-ag-3").await;
    let bounce = json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "bounced@example.org", "action": "failed",
                "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2026-12-07T10:00:00.000Z", "feedbackId": "fb-1"},
        "mail": {"timestamp": "2026-12-07T09:59:59.000Z", "messageId": "ses-1",
            "source": "support@relay.localhost", "destination": ["bounced@example.org"]}
    });
    let sns = json!({
        "Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:relay-email-events",
        "Message": bounce.to_string(), "Timestamp": "2026-12-07T10:00:01.000Z",
        "SignatureVersion": "1", "Signature": "x", "SigningCertURL": "https://sns.example", "UnsubscribeURL": "https://sns.example"
    });
    let failed = email_inbound::handle_events(
        &backend,
        &[ReceivedMessage {
            message_id: "sns-1".into(),
            receipt: "r".into(),
            body: sns.to_string(),
            receive_count: 1,
        }],
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    let seq = reply(&app, "fu-ag-3", &cid, "a-1", "Hello again").await;
    let followup = scheduled(&app, &cid, seq).await;
    assert_eq!(
        check(&backend, &followup, domain::now_ms()).await.unwrap(),
        Followup::Nothing("suppressed")
    );

    // No address at all.
    agent(&app, "fu-ag-4", 1, &[], "online").await;
    let cid = waiting(&app, "fu-4", Priority::Normal, None).await;
    assert_eq!(app.run_router().await, 0);
    assert_eq!(accept(&app, "fu-ag-4", &cid).await.status, StatusCode::OK);
    let seq = reply(&app, "fu-ag-4", &cid, "a-1", "Hi").await;
    let followup = scheduled(&app, &cid, seq).await;
    assert_eq!(
        check(&backend, &followup, domain::now_ms()).await.unwrap(),
        Followup::Nothing("no_email_address")
    );
    assert!(mailbox.sent().is_empty(), "{:?}", mailbox.sent());

    // Positive control: the same check for a reachable, unread reply sends.
    let cid = accepted_with_email(&app, "fu-5", "fu5@example.org", "fu-ag-5").await;
    let seq = reply(&app, "fu-ag-5", &cid, "a-1", "Here you go").await;
    let followup = scheduled(&app, &cid, seq).await;
    assert!(matches!(
        check(&backend, &followup, domain::now_ms()).await.unwrap(),
        Followup::Sent { replies: 1, .. }
    ));
}

/// A check that died after claiming the conversation's email (a timeout, a crash) holds the
/// others back only for its lease: a check meanwhile is retried by the queue, one after the
/// lease takes over and sends.
#[tokio::test]
async fn a_claim_left_by_a_dead_check_lapses_after_its_lease() {
    let app = TestApp::start().await;
    let (backend, mailbox) = with_ses(&app).await;
    let cid = accepted_with_email(&app, "fu-6", "fu6@example.org", "fu-ag-6").await;
    let seq = reply(&app, "fu-ag-6", &cid, "a-1", "Still there?").await;
    let followup = scheduled(&app, &cid, seq).await;
    let now = domain::now_ms();
    let store = app.backend.store.as_ref();
    let thread = store.email_thread(&app.account.id, &cid).await.unwrap();
    store
        .put_email_thread(&thread.claimed(seq, now))
        .await
        .unwrap();

    let during = check(&backend, &followup, now + 1_000).await;
    assert!(
        during.is_err(),
        "retried while the claim stands: {during:?}"
    );
    assert!(mailbox.sent().is_empty());
    let after = check(
        &backend,
        &followup,
        now + domain::email::outbound::CLAIM_LEASE_MS + 1,
    )
    .await
    .unwrap();
    assert!(
        matches!(after, Followup::Sent { replies: 1, .. }),
        "{after:?}"
    );
    assert_eq!(mailbox.sent().len(), 1);
    // Done: the next check finds nothing to send.
    assert_eq!(
        check(&backend, &followup, now + 200_000).await.unwrap(),
        Followup::Nothing("already_emailed")
    );
}
