//! Relay's built-in bot (R8, spec "Integrations"): with `bot.enabled` and no bot integration,
//! the first end-user message of a session under bot control gets one answer, so no end user
//! writes into silence:
//! - with `bot.answer_from_articles` (#36), up to 3 published articles that match the message,
//!   as cards, with the buttons "That answered it" (`relay:resolved`: the widget closes the
//!   ticket, a bot resolution) and "Talk to a person" (`relay:handoff`); with no match, the
//!   handoff offer at once;
//! - otherwise `bot.greeting` and the `relay:handoff` button.

use sha2::{Digest, Sha256};

use crate::ids::new_id;
use crate::knowledge::ArticleMatch;
use crate::locale::Texts;
use crate::messages::{RichButton, RichContent, RichItem, RichLayout};
use crate::model::{AuthorRole, Control, Conversation, Message, MessageKind, SessionState};
use crate::settings::{HelpCenterSettings, Settings};

/// Who the built-in bot's messages are from.
pub const BUILT_IN_BOT_ID: &str = "relay-bot";
/// The payload of the button that passes control to agents.
pub const HANDOFF_PAYLOAD: &str = "relay:handoff";
pub const HANDOFF_LABEL: &str = crate::locale::EN.handoff_label;
/// The payload of "That answered it": the widget closes the ticket (`POST .../close`).
pub const RESOLVED_PAYLOAD: &str = "relay:resolved";
/// An article card's button without a help-centre URL: the widget opens the article itself.
pub const ARTICLE_PAYLOAD_PREFIX: &str = "relay:article:";
/// The most articles one answer carries.
pub const MAX_ANSWER_ARTICLES: usize = 3;

/// Whether `trigger` gets the bot's answer: an end user's message of the conversation's
/// current session while the bot holds it, with the bot on.
pub fn answers(conversation: &Conversation, trigger: &Message, settings: &Settings) -> bool {
    settings.bot.enabled
        && trigger.author_role == AuthorRole::EndUser
        && trigger.kind != MessageKind::InternalNote
        && trigger.session_no == conversation.session_no
        && conversation.control == Control::Bot
        && conversation.session == SessionState::Active
}

/// The built-in bot's answer to `trigger`, if it gets one (see [`answers`]). `articles` is
/// what a search of the trigger's text found (`None`: articles were not consulted, the
/// greeting answers). Its `client_message_id` names the session, so however often the
/// trigger is handed over (the change stream delivers at least once) the session gets one
/// answer.
pub fn first_answer(
    conversation: &Conversation,
    trigger: &Message,
    settings: &Settings,
    articles: Option<&[ArticleMatch]>,
    now: i64,
) -> Option<Message> {
    if !answers(conversation, trigger, settings) {
        return None;
    }
    // The end user's language; the account's greeting unless it is the default of the
    // account's language, which is said in the end user's.
    let texts = crate::locale::in_conversation(conversation, settings).texts();
    let handoff = RichButton {
        label: texts.handoff_label.into(),
        url: None,
        payload: Some(HANDOFF_PAYLOAD.into()),
    };
    let rich = match articles {
        None => {
            let greeting = settings.bot.greeting.trim();
            let greeting = if greeting == settings.locale.texts().bot_greeting {
                texts.bot_greeting
            } else {
                greeting
            };
            offer(greeting, vec![handoff])
        }
        Some([]) => offer(texts.no_article_found, vec![handoff]),
        Some(found) => RichContent {
            layout: RichLayout::List,
            text: Some(texts.articles_found.into()),
            items: found
                .iter()
                .take(MAX_ANSWER_ARTICLES)
                .map(|a| card(a, texts, &settings.help_center))
                .collect(),
            buttons: vec![
                RichButton {
                    label: texts.resolved_label.into(),
                    url: None,
                    payload: Some(RESOLVED_PAYLOAD.into()),
                },
                handoff,
            ],
        },
    };
    let text = rich.render_text();
    Some(Message {
        account_id: conversation.account_id.clone(),
        conversation_id: conversation.id.clone(),
        seq: 0,
        id: new_id("m"),
        client_message_id: answer_client_message_id(conversation),
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

/// The `client_message_id` of the bot's answer in `conversation`'s current session.
pub fn answer_client_message_id(conversation: &Conversation) -> String {
    format!("relay-bot.greeting.s{}", conversation.session_no)
}

fn offer(text: &str, buttons: Vec<RichButton>) -> RichContent {
    RichContent {
        layout: RichLayout::Buttons,
        text: Some(text.to_string()),
        items: Vec::new(),
        buttons,
    }
}

/// One article as a card: its title, its snippet, and a button that opens it (the account's
/// help centre, else the widget's own view of the article).
fn card(article: &ArticleMatch, texts: &Texts, help_center: &HelpCenterSettings) -> RichItem {
    let url = help_center.article_url(&article.id);
    let payload = url
        .is_none()
        .then(|| format!("{ARTICLE_PAYLOAD_PREFIX}{}", article.id));
    // A title fits a card's (both 200 characters); a snippet is about 160 characters.
    RichItem {
        title: article.title.clone(),
        description: (!article.snippet.is_empty()).then(|| article.snippet.clone()),
        image_url: None,
        buttons: vec![RichButton {
            label: texts.read_article_label.into(),
            url,
            payload,
        }],
    }
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
        let reply =
            first_answer(&c, &message(&c, AuthorRole::EndUser), &settings, None, 9).unwrap();
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
        assert!(first_answer(
            &handed,
            &message(&handed, AuthorRole::EndUser),
            &settings,
            None,
            9
        )
        .is_none());
        assert!(first_answer(&c, &message(&c, AuthorRole::Agent), &settings, None, 9).is_none());
        let mut off = settings.clone();
        off.bot.enabled = false;
        assert!(first_answer(&c, &message(&c, AuthorRole::EndUser), &off, None, 9).is_none());
    }

    fn found(ids: &[&str]) -> Vec<ArticleMatch> {
        ids.iter()
            .map(|id| ArticleMatch {
                id: (*id).into(),
                title: format!("Article {id}"),
                locale: crate::locale::Locale::En,
                snippet: format!("About {id}"),
                score: 2.0,
                published: true,
                url: None,
            })
            .collect()
    }

    #[test]
    fn articles_found_become_cards_with_the_resolved_and_handoff_buttons() {
        let mut settings = Settings::default();
        let c = new_conversation("acme", "alice", &settings, 1);
        let trigger = message(&c, AuthorRole::EndUser);
        let articles = found(&["a1", "a2", "a3", "a4"]);
        let reply = first_answer(&c, &trigger, &settings, Some(&articles), 9).unwrap();
        let rich = reply.rich.clone().unwrap();
        assert_eq!(rich["items"].as_array().unwrap().len(), MAX_ANSWER_ARTICLES);
        assert_eq!(rich["items"][0]["title"], "Article a1");
        assert_eq!(rich["items"][0]["description"], "About a1");
        assert_eq!(
            rich["items"][0]["buttons"][0]["payload"],
            "relay:article:a1"
        );
        assert_eq!(rich["buttons"][0]["payload"], RESOLVED_PAYLOAD);
        assert_eq!(rich["buttons"][1]["payload"], HANDOFF_PAYLOAD);
        let text = reply.text.unwrap();
        assert!(
            text.contains("Article a3") && !text.contains("Article a4"),
            "{text}"
        );
        assert_eq!(reply.client_message_id, "relay-bot.greeting.s1");

        // With a help centre, the cards link into it.
        settings.help_center.base_url = Some("https://help.acme.test/articles/".into());
        let reply = first_answer(&c, &trigger, &settings, Some(&articles), 9).unwrap();
        let rich = reply.rich.unwrap();
        assert_eq!(
            rich["items"][1]["buttons"][0]["url"],
            "https://help.acme.test/articles/a2"
        );
        assert!(rich["items"][1]["buttons"][0].get("payload").is_none());
    }

    #[test]
    fn no_article_found_offers_the_handoff_at_once_in_the_end_users_language() {
        let settings = Settings::default();
        let mut c = new_conversation("acme", "alice", &settings, 1);
        c.end_user_profile.locale = Some(crate::locale::Locale::Fr);
        let reply = first_answer(
            &c,
            &message(&c, AuthorRole::EndUser),
            &settings,
            Some(&[]),
            9,
        )
        .unwrap();
        let rich = reply.rich.unwrap();
        assert_eq!(rich["text"], crate::locale::FR.no_article_found);
        let buttons = rich["buttons"].as_array().unwrap();
        assert_eq!(buttons.len(), 1);
        assert_eq!(buttons[0]["payload"], HANDOFF_PAYLOAD);
        assert_eq!(buttons[0]["label"], crate::locale::FR.handoff_label);
    }
}
