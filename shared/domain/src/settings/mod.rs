//! Account settings (spec R1–R11): the typed document, its defaults, RFC 7396 merge patches, the
//! cross-setting rules, and the hash-chained audit log. Pure logic, no I/O.
//!
//! The store keeps a *sparse* document: only what an admin set explicitly. The effective
//! settings are the defaults (R4's depends on the account) with that document merged over them,
//! so a default can change without rewriting every account, and `null` in a patch means "back
//! to the default".
//!
//! `audit` holds the hash chain (R10), `readiness` the checklist (R11).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;

pub use crate::business_hours::BusinessHours;
use crate::locale::Locale;
use crate::model::Account;

mod audit;
mod checks;
mod readiness;

use checks::{check_help_center, check_hours, check_known_keys, check_widget, invalid};

pub use audit::*;
pub use readiness::*;

/// Launch of "agents can end messaging sessions" (R4): accounts whose messaging was enabled
/// before this instant default to `false`. 2026-01-01T00:00:00Z.
pub const AGENTS_CAN_END_SESSIONS_LAUNCH_MS: i64 = 1_767_225_600_000;

/// The capability R6 requires.
pub const CSAT_CAPABILITY: &str = "csat.customizable";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    pub enabled: bool,
}

/// R5: how a ticket whose session an agent ended counts for routing and capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedSessionRouting {
    Messaging,
    Email,
}

/// R9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingMethod {
    HighestSpareCapacity,
    RoundRobin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    pub enabled: bool,
    pub agents_can_end_sessions: bool,
    pub ended_session_routing: EndedSessionRouting,
    pub csat_on_session_end: bool,
    /// Posted once per session when a handoff happens outside business hours (`null`: none).
    pub away_message: Option<String>,
    /// A session with no end-user message for this long is ended by the system as in R21
    /// (`null`: never).
    pub idle_timeout_minutes: Option<u32>,
    /// Conversations at rest (no session running, nothing held) are deleted, messages and
    /// files included, this many days after their last activity (`null`: kept forever).
    pub retention_days: Option<u32>,
    /// R35: an agent's reply still unread this long after it was sent, while the end user has
    /// an email address and no open connection, is emailed (`null`: never). Stored documents
    /// from before it take the default.
    #[serde(default = "default_email_followup_minutes")]
    pub email_followup_minutes: Option<u32>,
}

fn default_email_followup_minutes() -> Option<u32> {
    Some(DEFAULT_EMAIL_FOLLOWUP_MINUTES)
}

/// R35's default wait before an unread reply is emailed, and the range admins may choose
/// from: the check is an SQS delay, at most 15 minutes (R32).
pub const DEFAULT_EMAIL_FOLLOWUP_MINUTES: u32 = 5;
pub const EMAIL_FOLLOWUP_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 1..=15;

/// The idle timeouts admins may choose from: a minute to a week.
pub const IDLE_TIMEOUT_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 1..=10_080;

/// The retention periods admins may choose from: a day to ten years.
pub const RETENTION_DAYS_RANGE: std::ops::RangeInclusive<u32> = 1..=3_650;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    pub method: RoutingMethod,
    /// R25: how long an offer stands before it is withdrawn and routed again.
    pub offer_timeout_seconds: u32,
}

/// R25's default offer timeout, and the range admins may choose from (SQS delays reach 900 s).
pub const DEFAULT_OFFER_TIMEOUT_SECONDS: u32 = 30;
pub const OFFER_TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 1..=900;

/// The embeddable widget (spec "Widget (browser)").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetSettings {
    /// The public key a site's `<script data-key>` carries; every account has one from the
    /// start (its default, `widget::first_widget_key`), never chosen: patching it to `null`
    /// rotates it to a random one (the old key stops minting visitors at once). `None` only
    /// in settings computed without an account.
    pub key: Option<String>,
    /// Origins whose pages may act as the account's end users (exact, as the browser sends
    /// `Origin`); other browser origins get 403 `origin_not_allowed`.
    pub allowed_origins: Vec<String>,
    /// The first words the widget shows, before anyone types.
    pub greeting: String,
    /// Whether anonymous visitors may start (#33 item 5): when false, the widget key mints no
    /// visitor (403 `visitors_disabled`) and visitor tokens already given stop working; only
    /// identified end users (the site's own signed tokens) reach support.
    #[serde(default = "visitors_enabled_by_default")]
    pub visitors_enabled: bool,
    /// Whether the widget tells agents which pages the visitor was on (`visitor_context`).
    #[serde(default = "visitors_enabled_by_default")]
    pub share_page_views: bool,
}

fn visitors_enabled_by_default() -> bool {
    true
}

pub const DEFAULT_GREETING: &str = crate::locale::EN.widget_greeting;
pub const MAX_GREETING_CHARS: usize = 500;

impl Default for WidgetSettings {
    fn default() -> Self {
        Self {
            key: None,
            allowed_origins: Vec::new(),
            greeting: DEFAULT_GREETING.into(),
            visitors_enabled: true,
            share_page_views: true,
        }
    }
}

/// The bot that answers first (R8): with `enabled` and no bot integration, Relay's built-in bot
/// answers the first end-user message of a session (`domain::bot`): with up to 3 published
/// articles that match it when `answer_from_articles` is on (#36), else with `greeting`; a
/// "talk to a person" button either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotSettings {
    pub enabled: bool,
    pub greeting: String,
    #[serde(default = "answers_from_articles_by_default")]
    pub answer_from_articles: bool,
}

fn answers_from_articles_by_default() -> bool {
    true
}

/// Where the account's help centre lives (#36): the bot's article cards link to
/// `{base_url}/{article_id}`; `None`: the widget opens the article itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpCenterSettings {
    pub base_url: Option<String>,
}

impl HelpCenterSettings {
    /// Where the help centre shows article `id`, if the account has one.
    pub fn article_url(&self, id: &str) -> Option<String> {
        let base = self.base_url.as_deref()?;
        Some(format!("{}/{id}", base.trim_end_matches('/')))
    }
}

/// The longest `help_center.base_url` admins may set.
pub const MAX_HELP_CENTER_URL_CHARS: usize = 500;

pub const DEFAULT_BOT_GREETING: &str = crate::locale::EN.bot_greeting;

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            greeting: DEFAULT_BOT_GREETING.into(),
            answer_from_articles: true,
        }
    }
}

/// The effective settings of an account: every setting has a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub agent_workspace: Toggle,
    pub support_chat_app: Toggle,
    pub messaging: MessagingSettings,
    pub attachments: Toggle,
    pub bot: BotSettings,
    pub routing: RoutingSettings,
    pub widget: WidgetSettings,
    pub business_hours: BusinessHours,
    #[serde(default)]
    pub help_center: HelpCenterSettings,
    /// The language of the server's texts to end users whose token claims none
    /// (`domain::locale`); the default greetings follow it until an admin sets their own.
    #[serde(default)]
    pub locale: Locale,
}

impl Default for Settings {
    /// The spec's defaults for a new account.
    fn default() -> Self {
        Self {
            agent_workspace: Toggle { enabled: true },
            support_chat_app: Toggle { enabled: false },
            messaging: MessagingSettings {
                enabled: true,
                agents_can_end_sessions: true,
                ended_session_routing: EndedSessionRouting::Messaging,
                csat_on_session_end: false,
                away_message: None,
                idle_timeout_minutes: None,
                retention_days: None,
                email_followup_minutes: Some(DEFAULT_EMAIL_FOLLOWUP_MINUTES),
            },
            attachments: Toggle { enabled: true },
            bot: BotSettings::default(),
            routing: RoutingSettings {
                method: RoutingMethod::HighestSpareCapacity,
                offer_timeout_seconds: DEFAULT_OFFER_TIMEOUT_SECONDS,
            },
            widget: WidgetSettings::default(),
            business_hours: BusinessHours::default(),
            help_center: HelpCenterSettings::default(),
            locale: Locale::En,
        }
    }
}

/// Whether R4's legacy default applies: messaging enabled before the feature launched.
fn is_legacy_messaging_account(account: Option<&Account>) -> bool {
    account
        .and_then(|a| a.messaging_enabled_at)
        .is_some_and(|at| at < AGENTS_CAN_END_SESSIONS_LAUNCH_MS)
}

impl Settings {
    /// The defaults for `account` (R4; its first widget key).
    pub fn defaults_for(account: Option<&Account>) -> Self {
        let mut settings = Self::default();
        settings.messaging.agents_can_end_sessions = !is_legacy_messaging_account(account);
        settings.widget.key = account.map(crate::widget::first_widget_key);
        settings
    }

    /// The defaults a sparse document is merged over: [`Settings::defaults_for`], with the
    /// greetings of the document's `locale` (an admin's own greeting, merged over, wins).
    fn defaults_under(sparse: &Value, account: Option<&Account>) -> Self {
        let mut defaults = Self::defaults_for(account);
        if let Some(locale) = sparse
            .get("locale")
            .and_then(|l| serde_json::from_value::<Locale>(l.clone()).ok())
        {
            let texts = locale.texts();
            defaults.widget.greeting = texts.widget_greeting.into();
            defaults.bot.greeting = texts.bot_greeting.into();
        }
        defaults
    }

    /// The effective settings: defaults with the stored sparse document merged over them.
    /// A stored document that no longer fits the schema falls back to the defaults for the
    /// parts that do not fit (logged), rather than failing every request of the account.
    pub fn effective(stored: Option<&Value>, account: Option<&Account>) -> Self {
        let Some(stored) = stored else {
            return Self::defaults_for(account);
        };
        let defaults = Self::defaults_under(stored, account);
        overlay(&defaults, stored).unwrap_or_else(|error| {
            tracing::error!(%error, "stored settings do not fit the schema; using defaults");
            defaults
        })
    }
}

/// `defaults` with a sparse document merged over them; an error when a value has the wrong type.
fn overlay(defaults: &Settings, sparse: &Value) -> Result<Settings, serde_json::Error> {
    let mut merged = to_value(defaults);
    merge_patch(&mut merged, sparse);
    serde_json::from_value(merged)
}

fn to_value(settings: &Settings) -> Value {
    // A struct of plain fields always serialises.
    serde_json::to_value(settings).unwrap_or(Value::Null)
}

/// RFC 7396 JSON Merge Patch: objects merge recursively, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Removes objects left empty by removals, so the sparse document stays minimal.
fn prune_empty(value: &mut Value) {
    if let Value::Object(map) = value {
        for child in map.values_mut() {
            prune_empty(child);
        }
        map.retain(|_, child| !matches!(child, Value::Object(m) if m.is_empty()));
    }
}

/// Flattens a document into `path → leaf value` (`messaging.enabled → true`).
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, child, out);
            }
        }
        leaf => {
            out.insert(prefix.to_string(), leaf.clone());
        }
    }
}

/// Why a patch was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettingsError {
    /// A key that is not a setting (400): a typo must not silently do nothing.
    #[error("unknown setting `{0}`")]
    Unknown(String),
    /// A value of the wrong type or a broken cross-setting rule (422), naming the rule.
    #[error("{rule}: {message}")]
    Invalid { rule: &'static str, message: String },
}

/// What the account has configured outside the settings document, as R1 and R11 need it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceFacts {
    /// Agent groups configured.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Chat departments not yet converted to groups (R1 blocks the workspace while any remain).
    #[serde(default)]
    pub unconverted_chat_departments: u32,
    /// Published help-center articles (R11 recommends at least 10).
    #[serde(default)]
    pub help_center_articles: u32,
}

/// Work a settings change leaves to be done outside the request (through the queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingsEffect {
    /// R3: messaging was turned on; end every active live-chat session of the account.
    EndLiveChats,
    /// `messaging.retention_days` changed: every conversation's expiry is set again.
    ApplyRetention,
}

impl SettingsEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EndLiveChats => "end_live_chats",
            Self::ApplyRetention => "apply_retention",
        }
    }
}

/// A side effect to carry out: the outbox record and the queue message body are the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectJob {
    pub account_id: String,
    /// The settings version whose change asked for it.
    pub version: u64,
    pub effect: SettingsEffect,
    /// When the change was committed (epoch ms); stale pending jobs are sent again.
    pub requested_at: i64,
    /// Where a job over many pages goes on (its own queue message carries it there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The before and after of one changed setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub before: Value,
    pub after: Value,
}

/// An accepted patch, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The new sparse document to store.
    pub stored: Value,
    pub before: Settings,
    pub after: Settings,
    /// Effective values that changed, by path.
    pub changes: BTreeMap<String, Change>,
    pub effects: Vec<SettingsEffect>,
}

/// Applies a merge patch to an account's settings and checks every rule (R1, R2, R5, R6, R9,
/// types). Nothing is half-applied: either the whole outcome or an error.
pub fn apply_patch(
    stored: Option<&Value>,
    patch: &Value,
    account: &Account,
    facts: &WorkspaceFacts,
) -> Result<PatchOutcome, SettingsError> {
    let defaults = Settings::defaults_for(Some(account));
    check_known_keys(&to_value(&defaults), patch, "")?;
    let before = Settings::effective(stored, Some(account));

    let mut sparse = stored.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    merge_patch(&mut sparse, patch);
    prune_empty(&mut sparse);
    let mut after =
        overlay(&Settings::defaults_under(&sparse, Some(account)), &sparse).map_err(|e| {
            invalid(
                "types",
                format!("a setting has a value of the wrong type: {e}"),
            )
        })?;

    // R1: one switch for the account; enabling it needs every chat department converted and
    // turns the Support chat app off.
    if after.agent_workspace.enabled && !before.agent_workspace.enabled {
        if facts.unconverted_chat_departments > 0 {
            return Err(invalid(
                "R1",
                format!(
                    "agent_workspace.enabled needs every chat department converted to a group; {} remain",
                    facts.unconverted_chat_departments
                ),
            ));
        }
        after.support_chat_app.enabled = false;
        merge_patch(
            &mut sparse,
            &serde_json::json!({"support_chat_app": {"enabled": false}}),
        );
    } else if after.agent_workspace.enabled && after.support_chat_app.enabled {
        return Err(invalid(
            "R1",
            "support_chat_app.enabled cannot be turned on while the agent workspace is enabled",
        ));
    }
    // R2: messaging needs the agent workspace.
    if after.messaging.enabled && !after.agent_workspace.enabled {
        return Err(invalid(
            "R2",
            if before.agent_workspace.enabled {
                "agent_workspace.enabled cannot be turned off while messaging.enabled is on"
            } else {
                "messaging.enabled needs agent_workspace.enabled"
            },
        ));
    }
    if !OFFER_TIMEOUT_RANGE.contains(&after.routing.offer_timeout_seconds) {
        return Err(invalid(
            "R25",
            format!(
                "routing.offer_timeout_seconds must be between {} and {}",
                OFFER_TIMEOUT_RANGE.start(),
                OFFER_TIMEOUT_RANGE.end()
            ),
        ));
    }
    // R6: CSAT on session end needs the account capability.
    if after.messaging.csat_on_session_end && !account.has_capability(CSAT_CAPABILITY) {
        return Err(invalid(
            "R6",
            format!("messaging.csat_on_session_end needs the account capability {CSAT_CAPABILITY}"),
        ));
    }

    check_widget(patch, &account.id, &mut after, &mut sparse)?;
    check_hours(&after)?;
    check_help_center(&after)?;

    let mut effects = Vec::new();
    // R3: turning messaging on ends the account's live-chat sessions (tickets stay pending).
    if after.messaging.enabled && !before.messaging.enabled {
        effects.push(SettingsEffect::EndLiveChats);
    }
    // Conversations already at rest take the new period (or lose their expiry).
    if after.messaging.retention_days != before.messaging.retention_days {
        effects.push(SettingsEffect::ApplyRetention);
    }

    let (mut old, mut new) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &to_value(&before), &mut old);
    flatten("", &to_value(&after), &mut new);
    let changes = new
        .into_iter()
        .filter_map(|(path, after_value)| {
            let before_value = old.remove(&path).unwrap_or(Value::Null);
            (before_value != after_value).then_some((
                path,
                Change {
                    before: before_value,
                    after: after_value,
                },
            ))
        })
        .collect();
    Ok(PatchOutcome {
        stored: sparse,
        before,
        after,
        changes,
        effects,
    })
}

#[cfg(test)]
mod tests;
