//! The account settings every function reads (spec R1–R9), with the spec's defaults filled in.
//!
//! The settings API (update-settings) writes the stored document; every other function reads the
//! effective values through [`EffectiveSettings::from_document`], so defaults live in one place.

use serde_json::Value;

/// Settings as the functions need them. Paths follow the settings document (`messaging.enabled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveSettings {
    pub agent_workspace_enabled: bool,
    pub messaging_enabled: bool,
    pub agents_can_end_sessions: bool,
    pub attachments_enabled: bool,
    pub bot_enabled: bool,
}

impl Default for EffectiveSettings {
    fn default() -> Self {
        Self {
            agent_workspace_enabled: true,
            messaging_enabled: true,
            agents_can_end_sessions: true,
            attachments_enabled: true,
            bot_enabled: true,
        }
    }
}

fn flag(doc: &Value, section: &str, key: &str, default: bool) -> bool {
    doc.get(section)
        .and_then(|s| s.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

impl EffectiveSettings {
    /// Reads a stored settings document; anything absent takes the default.
    pub fn from_document(doc: Option<&Value>) -> Self {
        let defaults = Self::default();
        let Some(doc) = doc else { return defaults };
        Self {
            agent_workspace_enabled: flag(
                doc,
                "agent_workspace",
                "enabled",
                defaults.agent_workspace_enabled,
            ),
            messaging_enabled: flag(doc, "messaging", "enabled", defaults.messaging_enabled),
            agents_can_end_sessions: flag(
                doc,
                "messaging",
                "agents_can_end_sessions",
                defaults.agents_can_end_sessions,
            ),
            attachments_enabled: flag(doc, "attachments", "enabled", defaults.attachments_enabled),
            bot_enabled: flag(doc, "bot", "enabled", defaults.bot_enabled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_document_gives_spec_defaults() {
        let s = EffectiveSettings::from_document(None);
        assert!(s.messaging_enabled && s.bot_enabled && s.attachments_enabled);
    }

    #[test]
    fn stored_values_override_defaults() {
        let doc = serde_json::json!({"bot": {"enabled": false}, "messaging": {"enabled": false}});
        let s = EffectiveSettings::from_document(Some(&doc));
        assert!(!s.bot_enabled);
        assert!(!s.messaging_enabled);
        assert!(s.attachments_enabled);
    }
}
