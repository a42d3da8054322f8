//! Real replies from several clients, English and French (`tests/fixtures/email-mime/`, their
//! sources and licences in its README): each is read with a reply address put where the
//! client's recipient was, and must keep what the customer wrote and drop the quoted thread and
//! signature (`expected.json`).

use super::*;
use crate::email::reply_token::{mint, reply_address};

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/email-mime"
    ))
    .to_path_buf()
}

#[test]
fn every_clients_reply_keeps_what_was_written_and_drops_the_quote_and_signature() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json"),
    )
    .expect("JSON");
    let expected = expected.as_object().expect("an object");
    assert!(expected.len() >= 12, "{}", expected.len());
    let (_, token) = mint(b"secret", "acme", "c_1", 0);
    let address = reply_address(&token, "reply.example.test");
    let mut french = 0;
    for (name, wanted) in expected {
        let raw = std::fs::read(fixtures().join(name)).expect(name);
        let raw = String::from_utf8_lossy(&raw).replace("{{REPLY_ADDRESS}}", &address);
        let mail = read_mail(raw.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(mail.tokens.len(), 1, "{name}");
        for phrase in wanted["text_contains"].as_array().expect("contains") {
            let phrase = phrase.as_str().unwrap_or_default();
            assert!(
                mail.text.contains(phrase),
                "{name}: {phrase:?} missing from {:?}",
                mail.text
            );
        }
        for phrase in wanted["text_excludes"].as_array().expect("excludes") {
            let phrase = phrase.as_str().unwrap_or_default();
            assert!(
                !mail.text.contains(phrase),
                "{name}: {phrase:?} kept in {:?}",
                mail.text
            );
        }
        assert_eq!(
            mail.attachments.len() as u64,
            wanted["attachments"].as_u64().unwrap_or_default(),
            "{name}"
        );
        french += usize::from(name.ends_with("_fr.eml"));
    }
    assert!(french >= 3, "{french} French replies");
}

#[test]
fn a_mail_without_a_reply_address_or_not_mail_at_all_is_refused() {
    let raw = std::fs::read(fixtures().join("gmail_web_en.eml")).expect("fixture");
    let raw = String::from_utf8_lossy(&raw).replace("{{REPLY_ADDRESS}}", "support@example.com");
    assert_eq!(read_mail(raw.as_bytes()), Err(MailError::NoReplyAddress));
    assert_eq!(read_mail(&[0xff, 0, 0x13]), Err(MailError::Unparsable));
}

#[test]
fn automatic_answers_and_mail_ses_flagged_are_refused_with_a_positive_control() {
    let (_, token) = mint(b"secret", "acme", "c_1", 0);
    let address = reply_address(&token, "reply.example.test");
    let mail = |extra: &str| {
        format!(
            "Message-ID: <x@example.org>\r\nFrom: a@example.org\r\nTo: {address}\r\n{extra}\
Subject: Re: hi\r\n\r\nThanks!\r\n"
        )
    };
    assert!(read_mail(mail("").as_bytes()).is_ok(), "the control");
    assert!(read_mail(mail("Auto-Submitted: no\r\n").as_bytes()).is_ok());
    for header in [
        "Auto-Submitted: auto-replied\r\n",
        "X-Autoreply: yes\r\n",
        "Precedence: auto_reply\r\n",
        "Precedence: bulk\r\n",
    ] {
        assert_eq!(
            read_mail(mail(header).as_bytes()),
            Err(MailError::AutoReply),
            "{header}"
        );
    }
    for header in [
        "X-SES-Spam-Verdict: FAIL\r\n",
        "X-SES-Virus-Verdict: FAIL\r\n",
        "X-SES-Spam-Verdict: PASS\r\nX-SES-Spam-Verdict: FAIL\r\n",
    ] {
        assert_eq!(
            read_mail(mail(header).as_bytes()),
            Err(MailError::Flagged),
            "{header}"
        );
    }
    assert!(read_mail(mail("X-SES-Spam-Verdict: PASS\r\n").as_bytes()).is_ok());
}

#[test]
fn a_huge_body_is_read_up_to_its_bound() {
    let (_, token) = mint(b"secret", "acme", "c_1", 0);
    let address = reply_address(&token, "reply.example.test");
    let body = "é".repeat(MAX_BODY_BYTES_READ);
    let raw = format!(
        "Message-ID: <big@example.org>\r\nFrom: a@example.org\r\nTo: {address}\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>{body}</p>\r\n"
    );
    let mail = read_mail(raw.as_bytes()).expect("read");
    assert_eq!(
        mail.text.chars().count(),
        crate::messages::MAX_TEXT_CHARS,
        "cut, with its ellipsis"
    );
}
