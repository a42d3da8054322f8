use super::*;
use serde_json::json;

fn account(capabilities: &[&str], messaging_enabled_at: Option<i64>) -> Account {
    Account {
        id: "acme".into(),
        name: "Acme".into(),
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        created_at: 0,
        messaging_enabled_at,
        widget_key: None,
    }
}

#[test]
fn merge_patch_follows_rfc_7396() {
    let mut doc = json!({"a": {"b": 1, "c": 2}, "d": 3});
    merge_patch(&mut doc, &json!({"a": {"b": null, "e": 4}, "d": [1]}));
    assert_eq!(doc, json!({"a": {"c": 2, "e": 4}, "d": [1]}));
}

#[test]
fn r4_default_depends_on_when_messaging_was_enabled() {
    let legacy = account(&[], Some(AGENTS_CAN_END_SESSIONS_LAUNCH_MS - 1));
    let recent = account(&[], Some(AGENTS_CAN_END_SESSIONS_LAUNCH_MS));
    assert!(
        !Settings::effective(None, Some(&legacy))
            .messaging
            .agents_can_end_sessions
    );
    assert!(
        Settings::effective(None, Some(&recent))
            .messaging
            .agents_can_end_sessions
    );
}

#[test]
fn unknown_keys_and_wrong_types_are_told_apart() {
    let a = account(&[], None);
    let facts = WorkspaceFacts::default();
    assert_eq!(
        apply_patch(None, &json!({"bot": {"enabeld": true}}), &a, &facts),
        Err(SettingsError::Unknown("bot.enabeld".into()))
    );
    assert!(matches!(
        apply_patch(None, &json!({"bot": {"enabled": 1}}), &a, &facts),
        Err(SettingsError::Invalid { rule: "types", .. })
    ));
}

#[test]
fn enabling_messaging_asks_to_end_live_chats_and_records_changes() {
    let a = account(&[], None);
    let facts = WorkspaceFacts::default();
    let off = apply_patch(None, &json!({"messaging": {"enabled": false}}), &a, &facts).unwrap();
    assert!(off.effects.is_empty());
    let on = apply_patch(
        Some(&off.stored),
        &json!({"messaging": {"enabled": null}}),
        &a,
        &facts,
    )
    .unwrap();
    assert_eq!(on.effects, vec![SettingsEffect::EndLiveChats]);
    assert_eq!(on.stored, json!({}));
    assert_eq!(
        on.changes["messaging.enabled"],
        Change {
            before: json!(false),
            after: json!(true)
        }
    );
}

#[test]
fn csat_needs_the_capability() {
    let facts = WorkspaceFacts::default();
    let patch = json!({"messaging": {"csat_on_session_end": true}});
    assert!(matches!(
        apply_patch(None, &patch, &account(&[], None), &facts),
        Err(SettingsError::Invalid { rule: "R6", .. })
    ));
    assert!(apply_patch(None, &patch, &account(&[CSAT_CAPABILITY], None), &facts).is_ok());
}

#[test]
fn the_bots_greeting_takes_1_to_500_characters() {
    let (a, facts) = (account(&[], None), WorkspaceFacts::default());
    for greeting in ["   ".to_string(), "x".repeat(MAX_GREETING_CHARS + 1)] {
        assert!(matches!(
            apply_patch(None, &json!({"bot": {"greeting": greeting}}), &a, &facts),
            Err(SettingsError::Invalid { rule: "bot", .. })
        ));
    }
    let changed = apply_patch(None, &json!({"bot": {"greeting": "Hello!"}}), &a, &facts).unwrap();
    assert_eq!(changed.after.bot.greeting, "Hello!");
    assert!(changed.after.bot.enabled);
}

#[test]
fn the_help_centre_is_an_https_url_without_query_or_fragment() {
    let (a, facts) = (account(&[], None), WorkspaceFacts::default());
    assert_eq!(Settings::default().help_center.base_url, None);
    assert!(Settings::default().bot.answer_from_articles);
    let long = format!(
        "https://help.acme.test/{}",
        "a".repeat(MAX_HELP_CENTER_URL_CHARS)
    );
    for bad in [
        "http://help.acme.test",
        "https://help.acme.test/?q=1",
        "https://help.acme.test/#top",
        "https://user:pw@help.acme.test",
        "help.acme.test",
        "javascript:alert(1)",
        long.as_str(),
    ] {
        let patch = json!({"help_center": {"base_url": bad}});
        assert!(
            matches!(
                apply_patch(None, &patch, &a, &facts),
                Err(SettingsError::Invalid {
                    rule: "help_center",
                    ..
                })
            ),
            "{bad}"
        );
    }
    let patch = json!({"help_center": {"base_url": "https://help.acme.test/hc/articles"}});
    let changed = apply_patch(None, &patch, &a, &facts).unwrap();
    assert_eq!(
        changed.after.help_center.base_url.as_deref(),
        Some("https://help.acme.test/hc/articles")
    );
}

#[test]
fn the_widget_key_is_generated_kept_and_rotated_never_chosen() {
    let (a, facts) = (account(&[], None), WorkspaceFacts::default());
    let first = apply_patch(None, &json!({"bot": {"enabled": false}}), &a, &facts).unwrap();
    let key = first.after.widget.key.clone().unwrap();
    assert_eq!(crate::widget::account_of_widget_key(&key), Some("acme"));
    // The first key is the account's default: nothing stored for it.
    assert_eq!(
        Settings::effective(None, Some(&a)).widget.key.as_deref(),
        Some(key.as_str())
    );
    assert_eq!(first.stored, json!({"bot": {"enabled": false}}));
    let kept = apply_patch(
        Some(&first.stored),
        &json!({"bot": {"enabled": true}}),
        &a,
        &facts,
    )
    .unwrap();
    assert_eq!(kept.after.widget.key.as_deref(), Some(key.as_str()));
    let rotated = apply_patch(
        Some(&kept.stored),
        &json!({"widget": {"key": null}}),
        &a,
        &facts,
    )
    .unwrap();
    assert_ne!(rotated.after.widget.key.as_deref(), Some(key.as_str()));
    assert!(rotated.changes.contains_key("widget.key"));
    assert!(matches!(
        apply_patch(
            Some(&kept.stored),
            &json!({"widget": {"key": "wk.acme.mine"}}),
            &a,
            &facts
        ),
        Err(SettingsError::Invalid { rule: "widget", .. })
    ));
}

#[test]
fn allowed_origins_must_be_distinct_origins() {
    let (a, facts) = (account(&[], None), WorkspaceFacts::default());
    let ok =
        json!({"widget": {"allowed_origins": ["https://shop.example", "http://localhost:3000"]}});
    assert_eq!(
        apply_patch(None, &ok, &a, &facts)
            .unwrap()
            .after
            .widget
            .allowed_origins
            .len(),
        2
    );
    for bad in [
        json!({"widget": {"allowed_origins": ["https://shop.example/"]}}),
        json!({"widget": {"allowed_origins": ["https://a.example", "https://a.example"]}}),
        json!({"widget": {"allowed_origins": "https://a.example"}}),
    ] {
        assert!(
            matches!(
                apply_patch(None, &bad, &a, &facts),
                Err(SettingsError::Invalid { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn audit_chain_detects_any_altered_field() {
    let first = AuditEntry::new("acme", 1, "admin", 5, BTreeMap::new(), GENESIS_HASH);
    let second = AuditEntry::new("acme", 2, "admin", 6, BTreeMap::new(), &first.hash);
    assert_eq!(verify_chain(&[first.clone(), second.clone()]), Ok(()));
    let mut altered = first.clone();
    altered.at += 1;
    assert_eq!(verify_chain(&[altered, second.clone()]), Err(1));
    // Re-hashing the altered entry breaks the link to the next one instead.
    let rehashed = AuditEntry::new("acme", 1, "mallory", 5, BTreeMap::new(), GENESIS_HASH);
    assert_eq!(verify_chain(&[rehashed, second]), Err(2));
}
