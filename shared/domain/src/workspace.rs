//! The agent workspace: the inbox's views, the fields staff change on a conversation
//! (priority, group, tags), the end user's profile from their token, and the ticket's history
//! of field changes. Transfer, which moves capacity, is a session step (`sessions::transfer`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::DomainError;
use crate::model::{Actor, Conversation, EndUserProfile, Priority, Role};

/// Longest group name (the same bound as an agent's groups).
pub const MAX_GROUP_CHARS: usize = 100;
/// Most tags on a conversation, and the longest tag.
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 40;
/// Longest end-user name and email (RFC 5321's path limit).
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_EMAIL_CHARS: usize = 254;
/// Default and largest inbox page.
pub const DEFAULT_INBOX_PAGE: usize = 25;
pub const MAX_INBOX_PAGE: usize = 100;

/// The inbox's views (spec "Agent workspace").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxView {
    /// Assigned to the caller, newest activity first.
    Mine,
    /// Waiting for routing in the caller's groups, in routing order.
    Waiting,
    /// Every conversation of the account, newest activity first (admins only).
    All,
}

impl InboxView {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "mine" => Some(Self::Mine),
            "waiting" => Some(Self::Waiting),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    /// Agents see their own and the waiting ones; the whole account is for admins.
    pub fn allowed_for(self, role: Role) -> bool {
        match self {
            Self::Mine | Self::Waiting => role.is_staff(),
            Self::All => role == Role::Admin,
        }
    }
}

/// The agent whose `mine` view lists the conversation: its assignee while the ticket is
/// neither solved nor closed (an ended session stays: the agent owns the follow-up).
pub fn mine_view_owner(conversation: &Conversation) -> Option<&str> {
    use crate::model::TicketStatus::{Closed, Solved};
    match conversation.ticket_status {
        Solved | Closed => None,
        _ => conversation.assignee.as_deref(),
    }
}

/// The `all` view of an account is split over this many index partitions, so that one busy
/// account's activity stays within a partition's write rate; a page merges them.
pub const ALL_VIEW_SHARDS: u32 = 4;

/// The `all` view's partition of a conversation: stable, spread evenly by the random id.
pub fn all_view_shard(conversation_id: &str) -> u32 {
    conversation_id.bytes().fold(0u32, |sum, b| {
        sum.wrapping_mul(31).wrapping_add(u32::from(b))
    }) % ALL_VIEW_SHARDS
}

/// The sort key of a conversation in the activity-ordered views (`mine`, `all`): its byte
/// order is the activity order, the id breaks ties.
pub fn activity_key(conversation: &Conversation) -> String {
    activity_key_at(conversation.activity_at(), &conversation.id)
}

/// The activity sort key of conversation `conversation_id` active at `at`.
pub fn activity_key_at(at: i64, conversation_id: &str) -> String {
    format!("{:015}#{conversation_id}", at.max(0))
}

/// Whether `cursor` can be an inbox cursor of `view` (a sort key the server handed out);
/// anything else is refused before it reaches a query.
pub fn is_inbox_cursor(view: InboxView, cursor: &str) -> bool {
    let parts: Vec<&str> = cursor.split('#').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let id = |s: &str| crate::ids::is_safe_identifier(s);
    match view {
        InboxView::Mine | InboxView::All => {
            parts.len() == 2 && digits(parts[0], 15) && id(parts[1])
        }
        InboxView::Waiting => {
            parts.len() == 3 && digits(parts[0], 3) && digits(parts[1], 15) && id(parts[2])
        }
    }
}

/// `PATCH /v1/conversations/{cid}`: the fields to change; absent ones stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsPatch {
    // `null` is refused for priority and tags (400), as the contract says; only group clears.
    #[serde(default, deserialize_with = "crate::fields::present")]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "crate::fields::present")]
    pub group: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::fields::present")]
    pub tags: Option<Vec<String>>,
    /// Tags added to whatever the conversation has when the change is written (a macro's
    /// `tags_add`); not part of the PATCH body.
    #[serde(skip)]
    pub tags_add: Vec<String>,
}

fn invalid_field(message: impl Into<String>) -> DomainError {
    DomainError::InvalidField(message.into())
}

/// A list of group names as sent (copies count): at most `max`, each by [`check_group`]
/// (#40: 60 names with copies, and names with control characters, were taken).
pub fn groups_are_valid(groups: &[String], max: usize) -> bool {
    groups.len() <= max && groups.iter().all(|g| check_group(g).is_ok())
}

/// A group a conversation can be routed to (set by PATCH or a transfer): 422
/// `invalid_field` otherwise.
pub fn check_group(group: &str) -> Result<(), DomainError> {
    let valid = !group.trim().is_empty()
        && group.trim() == group
        && group.chars().count() <= MAX_GROUP_CHARS
        && !group.chars().any(char::is_control);
    if valid {
        Ok(())
    } else {
        Err(invalid_field(format!(
            "group must be 1-{MAX_GROUP_CHARS} characters, no control characters, no surrounding spaces"
        )))
    }
}

pub fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG_CHARS
        && tag.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b':')
        })
}

impl FieldsPatch {
    /// 422 `invalid_field` for a group or tag the workspace cannot hold.
    pub fn validate(&self) -> Result<(), DomainError> {
        if let Some(Some(group)) = &self.group {
            check_group(group)?;
        }
        let tags_add = (!self.tags_add.is_empty()).then_some(&self.tags_add);
        for tags in self.tags.iter().chain(tags_add) {
            if tags.len() > MAX_TAGS || !tags.iter().all(|t| is_valid_tag(t)) {
                return Err(invalid_field(format!(
                    "up to {MAX_TAGS} tags of 1-{MAX_TAG_CHARS} characters a-z, 0-9, '_', '-', ':'"
                )));
            }
        }
        if self.priority.is_none()
            && self.group.is_none()
            && self.tags.is_none()
            && self.tags_add.is_empty()
        {
            return Err(invalid_field(
                "nothing to change: give priority, group or tags",
            ));
        }
        Ok(())
    }
}

/// The conversation with `patch` applied by `by` (validated first), revision bumped; `None`
/// when it changes nothing. The channel tag (R17) stays whatever tags are given.
pub fn apply_fields(
    current: &Conversation,
    patch: &FieldsPatch,
    by: &Actor,
    now: i64,
) -> Result<Option<Conversation>, DomainError> {
    patch.validate()?;
    let mut next = current.clone();
    if let Some(priority) = patch.priority {
        next.priority = priority;
    }
    if let Some(group) = &patch.group {
        next.group = group.clone();
    }
    if patch.tags.is_some() || !patch.tags_add.is_empty() {
        let channel_tag = current.channel.tag().to_string();
        let mut tags: Vec<String> = patch.tags.clone().unwrap_or_else(|| current.tags.clone());
        tags.extend(patch.tags_add.iter().cloned());
        if !tags.contains(&channel_tag) {
            tags.insert(0, channel_tag.clone());
        }
        let mut seen = std::collections::HashSet::new();
        tags.retain(|t| seen.insert(t.clone()));
        // The channel tag (R17) is the conversation's own, on top of the 20 a patch may set.
        if tags.iter().filter(|t| **t != channel_tag).count() > MAX_TAGS {
            return Err(invalid_field(format!(
                "a conversation has at most {MAX_TAGS} tags besides its channel's"
            )));
        }
        next.tags = tags;
    }
    if next.priority == current.priority && next.group == current.group && next.tags == current.tags
    {
        return Ok(None);
    }
    next.updated_at = now;
    next.revision += 1;
    next.stamp(by.clone());
    Ok(Some(next))
}

/// The profile an end user's token claims, validated: `None` for a claim the token does not
/// make (the stored value stays), 422 `invalid_profile` for one it makes wrongly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileClaims {
    pub name: Option<Value>,
    pub email: Option<Value>,
    /// A BCP 47 tag; one naming a language we do not speak is kept as no claim (the account's
    /// language applies), one that is not a string is refused like a bad name.
    pub locale: Option<Value>,
}

fn invalid_profile(message: &str) -> DomainError {
    DomainError::InvalidProfile(message.into())
}

fn claimed_name(value: &Value) -> Result<String, DomainError> {
    let name = value
        .as_str()
        .ok_or_else(|| invalid_profile("name must be a string"))?
        .trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(invalid_profile(&format!(
            "name must be 1-{MAX_NAME_CHARS} characters without control characters"
        )));
    }
    Ok(name.to_string())
}

fn claimed_email(value: &Value) -> Result<String, DomainError> {
    let email = value
        .as_str()
        .ok_or_else(|| invalid_profile("email must be a string"))?;
    let well_formed = email.len() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if !well_formed {
        return Err(invalid_profile(&format!(
            "email must be an address of at most {MAX_EMAIL_CHARS} characters"
        )));
    }
    Ok(email.to_string())
}

impl ProfileClaims {
    /// The stored profile updated with what the token says (validated).
    pub fn merged_into(&self, stored: &EndUserProfile) -> Result<EndUserProfile, DomainError> {
        let mut profile = stored.clone();
        if let Some(name) = &self.name {
            profile.name = Some(claimed_name(name)?);
        }
        if let Some(email) = &self.email {
            profile.email = Some(claimed_email(email)?);
        }
        if let Some(tag) = &self.locale {
            let tag = tag
                .as_str()
                .filter(|t| t.len() <= 35)
                .ok_or_else(|| invalid_profile("locale must be a language tag such as fr-CA"))?;
            profile.locale = crate::locale::Locale::from_tag(tag);
        }
        Ok(profile)
    }
}

/// The conversation with the end user's newer profile, revision bumped; `None` when the
/// token says nothing new.
pub fn with_profile(
    current: &Conversation,
    profile: &EndUserProfile,
    now: i64,
) -> Option<Conversation> {
    if current.end_user_profile == *profile {
        return None;
    }
    let mut next = current.clone();
    next.end_user_profile = profile.clone();
    next.updated_at = now;
    next.revision += 1;
    next.stamp(Actor {
        role: Role::EndUser,
        id: current.owner_id.clone(),
    });
    Some(next)
}

/// The conversation with its end user's profile (name, email, language) and visitor context
/// (the pages they were on) dropped (erasure), revision bumped; `None` when it holds none.
/// Credited to `by`.
pub fn without_profile(current: &Conversation, by: Actor, now: i64) -> Option<Conversation> {
    if current.end_user_profile == EndUserProfile::default() && current.visitor_context.is_none() {
        return None;
    }
    let mut next = current.clone();
    next.end_user_profile = EndUserProfile::default();
    next.visitor_context = None;
    next.updated_at = now;
    next.revision += 1;
    next.stamp(by);
    Some(next)
}

/// What an erased profile value reads as in the ticket's history.
pub const ERASED_VALUE: &str = "[erased]";

/// One field change on a ticket's history: who, when, before, after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub account_id: String,
    pub conversation_id: String,
    pub ticket_id: String,
    /// The conversation revision that made the change (orders the history, keys it once).
    pub revision: u64,
    pub field: String,
    pub before: Value,
    pub after: Value,
    /// `None`: the system (routing, timeouts, the bot).
    pub by: Option<Actor>,
    pub at: i64,
}

/// The history entries of one write: every tracked field whose value differs.
pub fn history_of(before: &Conversation, after: &Conversation) -> Vec<HistoryEntry> {
    let fields: [(&str, Value, Value); 10] = [
        ("priority", json(&before.priority), json(&after.priority)),
        ("group", json(&before.group), json(&after.group)),
        ("tags", json(&before.tags), json(&after.tags)),
        ("assignee", json(&before.assignee), json(&after.assignee)),
        (
            "ticket_status",
            json(&before.ticket_status),
            json(&after.ticket_status),
        ),
        ("control", json(&before.control), json(&after.control)),
        ("session", json(&before.session), json(&after.session)),
        (
            "transfer_to",
            json(&before.transfer_to),
            json(&after.transfer_to),
        ),
        (
            "end_user.name",
            json(&before.end_user_profile.name),
            json(&after.end_user_profile.name),
        ),
        (
            "end_user.email",
            json(&before.end_user_profile.email),
            json(&after.end_user_profile.email),
        ),
    ];
    fields
        .into_iter()
        .filter(|(_, was, is)| was != is)
        .map(|(field, was, is)| {
            // A name or email that is removed (erasure) is not kept in the history either.
            let was = if field.starts_with("end_user.") && is.is_null() && !was.is_null() {
                Value::String(ERASED_VALUE.into())
            } else {
                was
            };
            (field, was, is)
        })
        .map(|(field, was, is)| HistoryEntry {
            account_id: after.account_id.clone(),
            conversation_id: after.id.clone(),
            ticket_id: after.ticket_id.clone(),
            revision: after.revision,
            field: field.to_string(),
            before: was,
            after: is,
            by: after.latest_author().cloned(),
            at: after.updated_at,
        })
        .collect()
}

fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::new_conversation;
    use crate::settings::Settings;

    fn admin() -> Actor {
        Actor {
            role: Role::Admin,
            id: "boss".into(),
        }
    }

    fn conversation() -> Conversation {
        new_conversation("acme", "eu", &Settings::default(), 1)
    }

    #[test]
    fn twenty_tags_are_taken_besides_the_channel_tag_and_a_macro_cannot_pass_twenty() {
        let current = conversation();
        let twenty: Vec<String> = (0..MAX_TAGS).map(|i| format!("t{i}")).collect();
        let patch = FieldsPatch {
            tags: Some(twenty.clone()),
            ..FieldsPatch::default()
        };
        let next = apply_fields(&current, &patch, &admin(), 5)
            .unwrap()
            .unwrap();
        assert_eq!(next.tags.len(), MAX_TAGS + 1, "{:?}", next.tags);
        let more = FieldsPatch {
            tags_add: vec!["one-more".into()],
            ..FieldsPatch::default()
        };
        assert!(apply_fields(&next, &more, &admin(), 6).is_err());
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_keeps_the_channel_tag() {
        let current = conversation();
        let patch: FieldsPatch =
            serde_json::from_str(r#"{"priority":"urgent","tags":["vip","vip"]}"#).unwrap();
        let next = apply_fields(&current, &patch, &admin(), 5)
            .unwrap()
            .unwrap();
        assert_eq!(next.priority, Priority::Urgent);
        assert_eq!(next.group, None);
        assert_eq!(next.tags, ["via_messaging", "vip"]);
        assert_eq!(next.latest_author(), Some(&admin()));
        let clear: FieldsPatch = serde_json::from_str(r#"{"group":null}"#).unwrap();
        assert_eq!(clear.group, Some(None));
        assert_eq!(apply_fields(&next, &clear, &admin(), 6).unwrap(), None);
    }

    #[test]
    fn bad_groups_and_tags_and_empty_patches_are_refused() {
        for body in [
            r#"{"group":""}"#,
            r#"{"group":" padded "}"#,
            r#"{"group":"a\u0007b"}"#,
            r#"{"tags":["UPPER"]}"#,
            r#"{}"#,
        ] {
            let patch: FieldsPatch = serde_json::from_str(body).unwrap();
            assert!(
                matches!(patch.validate(), Err(DomainError::InvalidField(_))),
                "{body}"
            );
        }
        assert!(serde_json::from_str::<FieldsPatch>(r#"{"priority":"panic"}"#).is_err());
        assert!(serde_json::from_str::<FieldsPatch>(r#"{"owner":"x"}"#).is_err());
    }

    #[test]
    fn profile_claims_are_validated_and_merged() {
        let stored = EndUserProfile {
            name: Some("Old".into()),
            email: Some("old@example.com".into()),
            locale: None,
        };
        let claim =
            |name: Option<Value>, email: Option<Value>, locale: Option<Value>| ProfileClaims {
                name,
                email,
                locale,
            };
        let merged = claim(Some(Value::from("  Ada Lovelace ")), None, None)
            .merged_into(&stored)
            .unwrap();
        assert_eq!(merged.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(merged.email.as_deref(), Some("old@example.com"));
        assert_eq!(merged.locale, None);
        let french = claim(None, None, Some(Value::from("fr-CA")));
        let merged = french.merged_into(&stored).unwrap();
        assert_eq!(merged.locale, Some(crate::locale::Locale::Fr));
        // A language we do not speak: the account's applies.
        let german = claim(None, None, Some(Value::from("de")));
        assert_eq!(german.merged_into(&merged).unwrap().locale, None);
        for claims in [
            claim(Some(Value::from("a\u{0000}b")), None, None),
            claim(Some(Value::from("x".repeat(10 * 1024))), None, None),
            claim(Some(Value::from(42)), None, None),
            claim(None, Some(Value::from("not an address")), None),
            claim(None, None, Some(Value::from(7))),
            claim(None, None, Some(Value::from("x".repeat(100)))),
        ] {
            assert!(matches!(
                claims.merged_into(&stored),
                Err(DomainError::InvalidProfile(_))
            ));
        }
    }

    #[test]
    fn history_credits_the_stamped_author_and_the_system_otherwise() {
        let before = conversation();
        let patch: FieldsPatch = serde_json::from_str(r#"{"priority":"high"}"#).unwrap();
        let after = apply_fields(&before, &patch, &admin(), 9).unwrap().unwrap();
        let entries = history_of(&before, &after);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].field, "priority");
        assert_eq!(entries[0].before, Value::from("normal"));
        assert_eq!(entries[0].after, Value::from("high"));
        assert_eq!(entries[0].by, Some(admin()));
        // A later unstamped revision (routing) is not credited to the admin.
        let mut later = after.clone();
        later.assignee = Some("ag".into());
        later.revision += 1;
        assert_eq!(history_of(&after, &later)[0].by, None);
    }

    #[test]
    fn cursors_are_only_sort_keys_of_their_view() {
        let c = conversation();
        assert!(is_inbox_cursor(InboxView::Mine, &activity_key(&c)));
        assert!(!is_inbox_cursor(InboxView::Waiting, &activity_key(&c)));
        assert!(is_inbox_cursor(
            InboxView::Waiting,
            &crate::routing::WaitingEntry::for_conversation(&c).sort_key()
        ));
        for bad in ["", "999999999999999999999#c", "000000000000001#a#b", "x"] {
            assert!(!is_inbox_cursor(InboxView::All, bad), "{bad}");
        }
    }
}
