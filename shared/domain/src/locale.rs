//! The languages Relay speaks to end users (spec "The browser: widget and console"): the
//! server's own texts (a session ended, a ticket solved, an idle closure, the satisfaction
//! question, the default greetings, the handoff button) in English and French. A
//! conversation's texts follow its end user's token claim `locale` when it names a language
//! we speak, else the account's `locale` setting (`in_conversation`). Texts an admin wrote
//! (a greeting they set, the away message) are theirs and never translated.

use serde::{Deserialize, Serialize};

use crate::model::Conversation;
use crate::settings::Settings;

/// A language of the server's texts; the account's `locale` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Fr];

    /// The language of a BCP 47 tag when we speak it ("fr-CA" → French); `None` otherwise.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let language = tag.split(['-', '_']).next().unwrap_or_default();
        Self::ALL
            .into_iter()
            .find(|l| language.eq_ignore_ascii_case(l.code()))
    }

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Locale::En => &EN,
            Locale::Fr => &FR,
        }
    }
}

/// The language of `conversation`'s texts: its end user's claim, else the account's.
pub fn in_conversation(conversation: &Conversation, settings: &Settings) -> Locale {
    conversation
        .end_user_profile
        .locale
        .unwrap_or(settings.locale)
}

/// Every text the server writes to end users, in one language.
#[derive(Debug)]
pub struct Texts {
    /// R21: an agent ended the session.
    pub session_ended: &'static str,
    /// An agent solved the ticket of a running session.
    pub ticket_solved: &'static str,
    /// R3: messaging was turned on and the live chat ended.
    pub live_chat_ended: &'static str,
    /// The session ended for being idle; `{minutes}` is filled in.
    pub idle_ended_one_minute: &'static str,
    pub idle_ended_minutes: &'static str,
    /// R6's survey.
    pub csat_question: &'static str,
    /// `widget.greeting` until an admin sets one.
    pub widget_greeting: &'static str,
    /// `bot.greeting` until an admin sets one.
    pub bot_greeting: &'static str,
    /// The built-in bot's button (`relay:handoff`).
    pub handoff_label: &'static str,
    /// The answer bot (#36): its words before the articles it found, its answer when it found
    /// none, its "that answered it" button (`relay:resolved`) and an article card's button.
    pub articles_found: &'static str,
    pub no_article_found: &'static str,
    pub resolved_label: &'static str,
    pub read_article_label: &'static str,
    /// R35's email of unread replies: its subject, its opening line, the label of a file's
    /// link, and how to answer.
    pub email_subject: &'static str,
    pub email_intro: &'static str,
    pub email_attachment: &'static str,
    pub email_reply_hint: &'static str,
}

impl Texts {
    /// The idle closure's notice after `minutes`.
    pub fn idle_ended(&self, minutes: u32) -> String {
        let template = if minutes == 1 {
            self.idle_ended_one_minute
        } else {
            self.idle_ended_minutes
        };
        template.replace("{minutes}", &minutes.to_string())
    }
}

pub const EN: Texts = Texts {
    session_ended: "This conversation has been ended by our support team. Send a message any time to start a new one.",
    ticket_solved: "This conversation has been marked as solved. Send a message any time to start a new one.",
    live_chat_ended: "This chat has ended. Send a message any time to continue the conversation.",
    idle_ended_one_minute: "This conversation was closed after 1 minute without a message from you. Send a message any time to start a new one.",
    idle_ended_minutes: "This conversation was closed after {minutes} minutes without a message from you. Send a message any time to start a new one.",
    csat_question: "How would you rate the help you received?",
    widget_greeting: "Hi! How can we help you today?",
    bot_greeting: "Hi, I'm the virtual assistant. Tell me what you need, or talk to an agent.",
    handoff_label: "Talk to an agent",
    articles_found: "These articles may answer your question:",
    no_article_found: "I could not find an answer to that in our help center. A person from our team can help.",
    resolved_label: "That answered it",
    read_article_label: "Read the article",
    email_subject: "New reply to your conversation",
    email_intro: "You have a new reply from our support team:",
    email_attachment: "Attachment",
    email_reply_hint: "Reply to this email to answer: your reply joins the same conversation.",
};

pub const FR: Texts = Texts {
    session_ended: "Notre équipe a mis fin à cette conversation. Envoyez un message à tout moment pour en commencer une nouvelle.",
    ticket_solved: "Cette conversation a été marquée comme résolue. Envoyez un message à tout moment pour en commencer une nouvelle.",
    live_chat_ended: "Cette discussion est terminée. Envoyez un message à tout moment pour poursuivre la conversation.",
    idle_ended_one_minute: "Cette conversation a été fermée après 1 minute sans message de votre part. Envoyez un message à tout moment pour en commencer une nouvelle.",
    idle_ended_minutes: "Cette conversation a été fermée après {minutes} minutes sans message de votre part. Envoyez un message à tout moment pour en commencer une nouvelle.",
    csat_question: "Comment évaluez-vous l’aide que vous avez reçue ?",
    widget_greeting: "Bonjour ! Comment pouvons-nous vous aider ?",
    bot_greeting: "Bonjour, je suis l’assistant virtuel. Dites-moi ce dont vous avez besoin, ou parlez à un conseiller.",
    handoff_label: "Parler à un conseiller",
    articles_found: "Ces articles répondent peut-être à votre question :",
    no_article_found: "Je n’ai pas trouvé de réponse dans notre centre d’aide. Un conseiller de notre équipe peut vous aider.",
    resolved_label: "Cela m’a aidé",
    read_article_label: "Lire l’article",
    email_subject: "Nouvelle réponse à votre conversation",
    email_intro: "Notre équipe d’assistance vous a répondu :",
    email_attachment: "Pièce jointe",
    email_reply_hint: "Répondez à cet e-mail pour nous répondre : votre réponse rejoint la même conversation.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_names_a_language_we_speak_or_none() {
        assert_eq!(Locale::from_tag("fr"), Some(Locale::Fr));
        assert_eq!(Locale::from_tag("fr-CA"), Some(Locale::Fr));
        assert_eq!(Locale::from_tag("FR_be"), Some(Locale::Fr));
        assert_eq!(Locale::from_tag("en-GB"), Some(Locale::En));
        assert_eq!(Locale::from_tag("de"), None);
        assert_eq!(Locale::from_tag(""), None);
        assert_eq!(Locale::from_tag("french"), None);
    }

    #[test]
    fn every_language_has_every_text_and_the_idle_notice_counts_minutes() {
        for locale in Locale::ALL {
            let t = locale.texts();
            for text in [
                t.session_ended,
                t.ticket_solved,
                t.live_chat_ended,
                t.csat_question,
                t.widget_greeting,
                t.bot_greeting,
                t.handoff_label,
                t.articles_found,
                t.no_article_found,
                t.resolved_label,
                t.read_article_label,
                t.email_subject,
                t.email_intro,
                t.email_attachment,
                t.email_reply_hint,
            ] {
                assert!(!text.trim().is_empty(), "{locale:?}");
            }
            assert!(t.idle_ended(30).contains("30 minutes"), "{locale:?}");
            assert!(t.idle_ended(1).contains("1 minute "), "{locale:?}");
            assert!(!t.idle_ended(30).contains('{'), "{locale:?}");
        }
        assert_ne!(EN.session_ended, FR.session_ended);
    }

    #[test]
    fn the_end_users_claim_wins_over_the_accounts_setting() {
        let mut conversation =
            crate::rules::new_conversation("acct", "alice", &Settings::default(), 1);
        let mut settings = Settings::default();
        assert_eq!(in_conversation(&conversation, &settings), Locale::En);
        settings.locale = Locale::Fr;
        assert_eq!(in_conversation(&conversation, &settings), Locale::Fr);
        conversation.end_user_profile.locale = Some(Locale::En);
        assert_eq!(in_conversation(&conversation, &settings), Locale::En);
    }
}
