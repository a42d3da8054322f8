use super::*;
use crate::rules::{hand_off, new_conversation};
use crate::settings::Settings;

#[test]
fn only_https_to_public_addresses_is_accepted() {
    for good in [
        "https://hooks.example.com/relay",
        "https://hooks.example.com:8443/x?y=1",
        "https://93.184.216.34/",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/",
    ] {
        assert!(check_url(good, false).is_ok(), "{good}");
    }
    for bad in [
        "http://hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[fd00::1]/",
        "https://100.64.0.1/",
        "https://localhost/",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com:0/",
        "https:///nohost",
        "not a url",
        "http://127.0.0.1:9000/",
    ] {
        assert!(check_url(bad, false).is_err(), "{bad}");
    }
    // Locally, with the flag, loopback over http is allowed, and only loopback.
    let local = check_url("http://127.0.0.1:9000/hook", true).unwrap();
    assert_eq!(
        (local.https, local.host.as_str(), local.port),
        (false, "127.0.0.1", 9000)
    );
    assert!(check_url("http://[::1]:9000/hook", true).is_ok());
    assert!(check_url("http://10.0.0.1/", true).is_err());
    assert!(check_url("http://hooks.example.com/", true).is_err());
}

/// R33's webhook URL paragraph: every form a client library (reqwest, through the `url`
/// crate's WHATWG host parser) turns into a non-public address is refused, at creation
/// and at delivery (both call `check_url`).
#[test]
fn address_forms_a_client_library_normalises_are_judged_after_normalisation() {
    for bad in [
        // Trailing dots.
        "https://127.0.0.1.:3000/x",
        "https://169.254.169.254./latest",
        "https://localhost./x",
        "https://LOCALHOST../x",
        "https://foo.localhost./x",
        // Decimal, hex, octal and short IPv4 forms.
        "https://2130706433/x",
        "https://0x7f000001/x",
        "https://0x7f.1/x",
        "https://0177.0.0.1/x",
        "https://017700000001/x",
        "https://127.1/x",
        "https://10.1/x",
        "https://0/x",
        "https://0x0a.0.0.1/x",
        "https://2852039166/latest", // 169.254.169.254
        "https://%31%32%37.0.0.1/x",
        // IPv4-mapped and -compatible IPv6, and the IPv6 forms of private ranges.
        "https://[::ffff:7f00:1]/x",
        "https://[::ffff:169.254.169.254]/x",
        "https://[::127.0.0.1]/x",
        "https://[::]/x",
        "https://[fe80::1]/x",
        "https://[ff02::1]/x",
        "https://[2002:7f00:1::]/x", // 6to4 of 127.0.0.1
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", // Teredo
        "https://[64:ff9b::a00:1]/x",
        "https://[100::1]/x", // discard-only
        // Shared (CGNAT), multicast, reserved, benchmarking, broadcast.
        "https://100.100.100.100/x",
        "https://224.0.0.1/x",
        "https://239.255.255.250/x",
        "https://240.0.0.1/x",
        "https://255.255.255.255/x",
        "https://198.18.0.1/x",
        "https://192.0.0.8/x",
        // Not a host a client would accept as written.
        "https://1.2.3.4.5/x",
        "https://foo.0x7f/x",
    ] {
        assert!(check_url(bad, false).is_err(), "{bad} was accepted");
    }
    // Positive control: public addresses in the same odd forms are still accepted, and
    // their target is the normalised address (what the client connects to).
    for (good, host) in [
        ("https://93.184.216.34./x", "93.184.216.34"),
        ("https://1572395042/x", "93.184.216.34"),
        ("https://0x5d.0xb8.0xd8.0x22/x", "93.184.216.34"),
        ("https://Hooks.Example.COM./x", "hooks.example.com"),
        ("https://[::ffff:93.184.216.34]/x", "[::ffff:93.184.216.34]"),
    ] {
        let target = check_url(good, false).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(target.host, host, "{good}");
    }
    // Locally, the flag allows loopback in any form, and still nothing else.
    assert!(check_url("http://127.1:9000/hook", true).is_ok());
    assert!(check_url("http://0x0a.1:9000/hook", true).is_err());
}

#[test]
fn the_signature_is_the_spec_header_over_time_and_body() {
    let header = signature_header("whsec_test", 1_700_000_000, r#"{"id":"evt_1"}"#);
    let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_test").unwrap();
    mac.update(br#"1700000000.{"id":"evt_1"}"#);
    let expected = hex::encode(mac.finalize().into_bytes());
    assert_eq!(header, format!("t=1700000000,v1={expected}"));
}

#[test]
fn retries_span_more_than_an_hour_in_at_least_six_attempts() {
    const { assert!(MAX_ATTEMPTS >= 6) };
    let quickest: u32 = (1..MAX_ATTEMPTS).map(|a| retry_delay_secs(a, 0.0)).sum();
    assert!(quickest >= 3600, "{quickest}");
    assert!(
        retry_delay_secs(1, 0.0) <= 60,
        "first retry within a minute"
    );
    assert!((1..MAX_ATTEMPTS).all(|a| retry_delay_secs(a, 0.999) <= 900));
    assert!(retry_delay_secs(2, 0.5) > retry_delay_secs(2, 0.0));
}

#[test]
fn changes_become_events_with_stable_ids() {
    let conversation = new_conversation("acct", "alice", &Settings::default(), 1);
    let handed = hand_off(&conversation, None, 2).unwrap();
    let change = StoredChange {
        before: Some(Stored::Conversation(Box::new(conversation.clone()))),
        after: Some(Stored::Conversation(Box::new(handed.clone()))),
    };
    let events = events_of(&change, 3);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, WebhookEventType::ConversationHandoff);
    assert_eq!(
        events[0].id,
        events_of(&change, 99)[0].id,
        "redelivery, same id"
    );
    assert_eq!(events[0].data["conversation"]["id"], conversation.id);
    // No change of control, session or status: no event.
    let mut touched = handed.clone();
    touched.revision += 1;
    let quiet = StoredChange {
        before: Some(Stored::Conversation(Box::new(handed))),
        after: Some(Stored::Conversation(Box::new(touched))),
    };
    assert!(events_of(&quiet, 3).is_empty());
}

#[test]
fn subscriptions_need_events_and_get_a_secret() {
    let new = |events| NewSubscription {
        url: "https://hooks.example.com/".into(),
        events,
    };
    assert!(create_subscription("a", "admin", new(vec![]), false, 0).is_err());
    let (made, secret) = create_subscription(
        "a",
        "admin",
        new(vec![
            WebhookEventType::SessionEnded,
            WebhookEventType::MessageCreated,
        ]),
        false,
        0,
    )
    .unwrap();
    assert!(secret.0.starts_with("whsec_") && secret.0.len() == 70);
    assert!(made.wants(WebhookEventType::MessageCreated));
    assert!(!made.wants(WebhookEventType::TicketClosed));
    assert!(!format!("{secret:?}").contains(&secret.0));
}
