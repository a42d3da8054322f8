//! Relay's built-in bot (R8, spec "Integrations"): with `bot.enabled` and no bot integration,
//! the first end-user message of a session under bot control is answered with `bot.greeting`
//! and a button whose payload is `relay:handoff` (the widget hands off when it is pressed), so
//! no end user writes into silence.

use sha2::{Digest, Sha256};

use crate::ids::new_id;
use crate::messages::{RichButton, RichContent, RichLayout};
use crate::model::{AuthorRole, Control, Conversation, Message, MessageKind, SessionState};
use crate::settings::Settings;

/// Who the built-in bot's messages are from.
pub const BUILT_IN_BOT_ID: &str = "relay-bot";
/// The payload of the button that passes control to agents.
pub const HANDOFF_PAYLOAD: &str = "relay:handoff";
pub const HANDOFF_LABEL: &str = crate::locale::EN.handoff_label;

/// The built-in bot's answer to `trigger`, if it gets one: an end user's message of the
/// conversation's current session while the bot holds it. Its `client_message_id` names the
/// session, so however often the trigger is handed over (the change stream delivers at least
/// once) the session gets one greeting.
pub fn greeting_reply(
    conversation: &Conversation,
    trigger: &Message,
    settings: &Settings,
    now: i64,
) -> Option<Message> {
    let answers = settings.bot.enabled
        && trigger.author_role == AuthorRole::EndUser
        && trigger.kind != MessageKind::InternalNote
        && trigger.session_no == conversation.session_no
        && conversation.control == Control::Bot
        && conversation.session == SessionState::Active;
    if !answers {
        return None;
    }
    // The end user's language; the account's greeting unless it is the default of the
    // account's language, which is said in the end user's.
    let texts = crate::locale::in_conversation(conversation, settings).texts();
    let greeting = settings.bot.greeting.trim();
    let greeting = if greeting == settings.locale.texts().bot_greeting {
        texts.bot_greeting
    } else {
        greeting
    };
    let rich = RichContent {
        layout: RichLayout::Buttons,
        text: Some(greeting.to_string()),
        items: Vec::new(),
        buttons: vec![RichButton {
            label: texts.handoff_label.into(),
            url: None,
            payload: Some(HANDOFF_PAYLOAD.into()),
        }],
    };
    let text = rich.render_text();
    Some(Message {
        account_id: conversation.account_id.clone(),
        conversation_id: conversation.id.clone(),
        seq: 0,
        id: new_id("m"),
        client_message_id: format!("relay-bot.greeting.s{}", conversation.session_no),
        author_id: BUILT_IN_BOT_ID.into(),
        author_role: AuthorRole::Bot,
        kind: MessageKind::Rich,
        request_hash: hex::encode(Sha256::digest(text.as_bytes())),
        redacted: None,
        direct_push_seq: None,
        text: Some(text),
        rich: serde_json::to_value(&rich).ok(),
        attachment_ids: Vec::new(),
        session_no: conversation.session_no,
        ticket_id: conversation.ticket_id.clone(),
        created_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{hand_off, new_conversation};

    fn message(conversation: &Conversation, role: AuthorRole) -> Message {
        Message {
            account_id: conversation.account_id.clone(),
            conversation_id: conversation.id.clone(),
            seq: 1,
            id: "m_1".into(),
            client_message_id: "c1".into(),
            author_id: "alice".into(),
            author_role: role,
            kind: MessageKind::Text,
            text: Some("hi".into()),
            rich: None,
            attachment_ids: Vec::new(),
            session_no: conversation.session_no,
            ticket_id: conversation.ticket_id.clone(),
            created_at: 5,
            request_hash: String::new(),
            redacted: None,
            direct_push_seq: None,
        }
    }

    #[test]
    fn the_first_end_user_message_under_the_bot_gets_the_greeting_and_a_handoff_button() {
        let settings = Settings::default();
        let c = new_conversation("acme", "alice", &settings, 1);
        let reply = greeting_reply(&c, &message(&c, AuthorRole::EndUser), &settings, 9).unwrap();
        assert_eq!(reply.author_role, AuthorRole::Bot);
        assert_eq!(reply.kind, MessageKind::Rich);
        let rich = reply.rich.unwrap();
        assert_eq!(rich["buttons"][0]["payload"], HANDOFF_PAYLOAD);
        assert_eq!(rich["text"], settings.bot.greeting);
        // Agents read it as text (R15).
        assert!(reply.text.unwrap().contains(HANDOFF_LABEL));
        assert_eq!(reply.client_message_id, "relay-bot.greeting.s1");
    }

    #[test]
    fn no_greeting_when_agents_hold_it_the_bot_is_off_or_the_author_is_not_the_end_user() {
        let settings = Settings::default();
        let c = new_conversation("acme", "alice", &settings, 1);
        let handed = hand_off(&c, None, 2).unwrap();
        assert!(greeting_reply(
            &handed,
            &message(&handed, AuthorRole::EndUser),
            &settings,
            9
        )
        .is_none());
        assert!(greeting_reply(&c, &message(&c, AuthorRole::Agent), &settings, 9).is_none());
        let mut off = settings.clone();
        off.bot.enabled = false;
        assert!(greeting_reply(&c, &message(&c, AuthorRole::EndUser), &off, 9).is_none());
    }
}
