//! Macros (#36, spec "Macros, knowledge base, answer bot"): canned replies agents send with
//! one action, their placeholders filled from the conversation and the sender's token, and
//! fields set with them.
//!
//! Admins make shared macros (no owner); agents make personal ones (theirs alone). A macro's
//! text holds only the four placeholders below (anything else in double braces is refused when
//! the macro is written, so a rendered text never shows raw braces), and a placeholder with no
//! value renders empty. Values come from the conversation the macro is applied to and from
//! the applying agent's token: never from another conversation.

use serde::{Deserialize, Serialize};

use crate::messages::MAX_TEXT_CHARS;
use std::collections::BTreeMap;

use crate::model::{Conversation, Priority};
use crate::settings::{AuditEntry, Change, GENESIS_HASH};
use crate::workspace::{check_group, is_valid_tag, FieldsPatch, MAX_TAGS};
use crate::DomainError;

/// Macros an account keeps at most (shared and personal together).
pub const MAX_MACROS_PER_ACCOUNT: usize = 500;
pub const MAX_MACRO_TITLE_CHARS: usize = 100;

/// The placeholders a macro's text may hold.
pub const PLACEHOLDERS: [&str; 4] = ["end_user.name", "end_user.email", "agent.name", "ticket.id"];

/// What applying a macro does besides posting its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroActions {
    // `null` is refused (400): an action is given or left out.
    #[serde(
        default,
        deserialize_with = "crate::fields::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub priority: Option<Priority>,
    #[serde(
        default,
        deserialize_with = "crate::fields::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_add: Vec<String>,
    #[serde(default)]
    pub end_session: bool,
}

impl MacroActions {
    /// The conversation's fields these actions change, as a patch; the tags are added to the
    /// conversation's own as they are when the patch is written (`FieldsPatch::tags_add`).
    /// `None` when they change no field.
    pub fn fields_patch(&self) -> Option<FieldsPatch> {
        let patch = FieldsPatch {
            priority: self.priority,
            group: self.group.clone().map(Some),
            tags: None,
            tags_add: self.tags_add.clone(),
        };
        (patch != FieldsPatch::default()).then_some(patch)
    }
}

/// An account's macros as a whole (#36: "audited like settings"): a version that moves with
/// every change and numbers its audit entry, how many there are (the 500 limit without
/// listing them), and the hash of the latest audit entry (the next one's `prev_hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroBook {
    pub version: u64,
    pub count: u32,
    pub last_hash: String,
}

impl Default for MacroBook {
    fn default() -> Self {
        Self {
            version: 0,
            count: 0,
            last_hash: GENESIS_HASH.into(),
        }
    }
}

impl MacroBook {
    /// The book after `before` became `after` (`None`: absent), by `actor` at `at`, and the
    /// audit entry that records it, chained to the book's last one. The entry's change is
    /// keyed `macros.{id}`, its sides the macro as stored (null: absent).
    pub fn after(
        &self,
        (before, after): (Option<&Macro>, Option<&Macro>),
        actor: &str,
        at: i64,
    ) -> Option<(MacroBook, AuditEntry)> {
        let changed = after.or(before)?;
        let side = |m: Option<&Macro>| m.and_then(|m| serde_json::to_value(m).ok());
        let change = Change {
            before: side(before).unwrap_or_default(),
            after: side(after).unwrap_or_default(),
        };
        let version = self.version + 1;
        let entry = AuditEntry::new(
            &changed.account_id,
            version,
            actor,
            at,
            BTreeMap::from([(format!("macros.{}", changed.id), change)]),
            &self.last_hash,
        );
        let count = |m: Option<&Macro>| u32::from(m.is_some());
        let book = MacroBook {
            version,
            count: (self.count + count(after)).saturating_sub(count(before)),
            last_hash: entry.hash.clone(),
        };
        Some((book, entry))
    }
}

/// A stored macro.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Macro {
    pub account_id: String,
    pub id: String,
    /// The agent whose personal macro it is; `None`: shared (made by an admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub actions: MacroActions,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// 1 when created, one more each change.
    pub revision: u64,
}

/// What its writer sends (`POST /v1/macros`, `PUT /v1/macros/{macro_id}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroDraft {
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub actions: MacroActions,
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::InvalidMacro(message.into())
}

/// The placeholder names in `text` (what stands between `{{` and `}}`, trimmed), in order;
/// an `Err` for an opening pair with no closing one.
fn placeholders(text: &str) -> Result<Vec<&str>, DomainError> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| invalid("text: a \"{{\" is never closed"))?;
        found.push(after[..close].trim());
        rest = &after[close + 2..];
    }
    Ok(found)
}

impl MacroDraft {
    pub fn validate(&self) -> Result<(), DomainError> {
        let title = self.title.trim();
        if title.is_empty()
            || self.title.chars().count() > MAX_MACRO_TITLE_CHARS
            || self.title.chars().any(char::is_control)
        {
            return Err(invalid(format!(
                "title: 1 to {MAX_MACRO_TITLE_CHARS} characters, no control characters"
            )));
        }
        if self.text.trim().is_empty() || self.text.chars().count() > MAX_TEXT_CHARS {
            return Err(invalid(format!("text: 1 to {MAX_TEXT_CHARS} characters")));
        }
        if let Some(unknown) = placeholders(&self.text)?
            .into_iter()
            .find(|p| !PLACEHOLDERS.contains(p))
        {
            return Err(invalid(format!(
                "text: no placeholder {{{{{unknown}}}}}; use {}",
                PLACEHOLDERS.map(|p| format!("{{{{{p}}}}}")).join(", ")
            )));
        }
        if let Some(group) = &self.actions.group {
            check_group(group).map_err(|_| invalid("actions.group: not a group name"))?;
        }
        let tags = &self.actions.tags_add;
        if tags.len() > MAX_TAGS || !tags.iter().all(|t| is_valid_tag(t)) {
            return Err(invalid(format!(
                "actions.tags_add: up to {MAX_TAGS} tags of a-z, 0-9, '_', '-', ':'"
            )));
        }
        Ok(())
    }

    /// The macro this draft makes: new (`previous` none) or the next revision of `previous`.
    pub fn into_macro(
        self,
        (account_id, id): (&str, &str),
        owner_id: Option<&str>,
        (by, now): (&str, i64),
        previous: Option<&Macro>,
    ) -> Macro {
        Macro {
            account_id: account_id.into(),
            id: id.into(),
            owner_id: owner_id.map(str::to_string),
            title: self.title.trim().into(),
            text: self.text,
            actions: self.actions,
            created_by: previous.map_or(by, |p| p.created_by.as_str()).into(),
            created_at: previous.map_or(now, |p| p.created_at),
            updated_at: now,
            revision: previous.map_or(1, |p| p.revision + 1),
        }
    }
}

/// The values of the placeholders for one application of a macro.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceholderValues {
    pub end_user_name: Option<String>,
    pub end_user_email: Option<String>,
    pub agent_name: Option<String>,
    pub ticket_id: Option<String>,
}

impl PlaceholderValues {
    /// The values for `conversation`, applied by an agent whose token names them `agent_name`.
    pub fn of(conversation: &Conversation, agent_name: Option<&str>) -> Self {
        let profile = &conversation.end_user_profile;
        Self {
            end_user_name: profile.name.clone(),
            end_user_email: profile.email.clone(),
            agent_name: agent_name.map(str::to_string),
            ticket_id: Some(conversation.ticket_id.clone()),
        }
    }

    fn value(&self, name: &str) -> &str {
        let value = match name {
            "end_user.name" => &self.end_user_name,
            "end_user.email" => &self.end_user_email,
            "agent.name" => &self.agent_name,
            "ticket.id" => &self.ticket_id,
            _ => &None,
        };
        value.as_deref().unwrap_or_default()
    }
}

/// `text` with each placeholder replaced by its value (empty when it has none; any other
/// double-braced name, which a stored macro cannot hold, renders empty too).
pub fn render(text: &str, values: &PlaceholderValues) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                out.push_str(values.value(after[..close].trim()));
                rest = &after[close + 2..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::new_conversation;
    use crate::settings::Settings;

    fn draft(text: &str) -> MacroDraft {
        MacroDraft {
            title: "Refund".into(),
            text: text.into(),
            actions: MacroActions::default(),
        }
    }

    #[test]
    fn placeholders_render_from_the_conversation_and_the_agent_or_empty() {
        let mut conversation = new_conversation("acme", "eu-1", &Settings::default(), 1);
        conversation.end_user_profile.name = Some("Alice".into());
        let values = PlaceholderValues::of(&conversation, Some("Ana"));
        let text =
            "Hi {{end_user.name}}, I'm {{ agent.name }} ({{ticket.id}}). Mail: {{end_user.email}}.";
        assert!(draft(text).validate().is_ok());
        assert_eq!(
            render(text, &values),
            format!("Hi Alice, I'm Ana ({}). Mail: .", conversation.ticket_id)
        );
        // Positive control: without values, nothing but the words.
        assert_eq!(
            render(text, &PlaceholderValues::default()),
            "Hi , I'm  (). Mail: ."
        );
        assert_eq!(render("{{end_user.name", &values), "");
    }

    #[test]
    fn a_draft_with_an_unknown_placeholder_or_bad_actions_is_refused() {
        for text in ["Hi {{customer.name}}", "Hi {{end_user.name", "   ", ""] {
            assert!(
                matches!(draft(text).validate(), Err(DomainError::InvalidMacro(_))),
                "{text:?}"
            );
        }
        let mut bad = draft("Hello");
        bad.actions.tags_add = vec!["Not A Tag".into()];
        assert!(bad.validate().is_err());
        let mut bad = draft("Hello");
        bad.actions.group = Some(" billing".into());
        assert!(bad.validate().is_err());
        let mut good = draft("Hello");
        good.actions = MacroActions {
            priority: Some(Priority::High),
            group: Some("billing".into()),
            tags_add: vec!["refund".into()],
            end_session: true,
        };
        assert!(good.validate().is_ok());
    }
}

#[cfg(test)]
mod tags_tests {
    use super::*;
    use crate::model::{Actor, Role};
    use crate::rules::new_conversation;
    use crate::settings::Settings;
    use crate::workspace::apply_fields;

    #[test]
    fn tags_a_macro_adds_join_the_tags_the_conversation_has_when_it_is_written() {
        let read = new_conversation("acme", "eu-1", &Settings::default(), 1);
        let actions = MacroActions {
            tags_add: vec!["refund".into()],
            ..MacroActions::default()
        };
        let patch = actions.fields_patch().unwrap();
        // Meanwhile another agent tags it.
        let mut written = read.clone();
        written.tags.push("vip".into());
        let by = Actor {
            role: Role::Agent,
            id: "ana".into(),
        };
        let next = apply_fields(&written, &patch, &by, 2).unwrap().unwrap();
        assert!(next.tags.contains(&"vip".to_string()), "{:?}", next.tags);
        assert!(next.tags.contains(&"refund".to_string()), "{:?}", next.tags);
        assert_eq!(MacroActions::default().fields_patch(), None);
    }
}
