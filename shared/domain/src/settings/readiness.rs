//! R11: what an account still needs before messaging can be switched on.

use super::*;

/// One line of the messaging-readiness checklist (R11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessItem {
    pub name: &'static str,
    pub level: &'static str,
    pub ok: bool,
    pub explanation: String,
}

/// Minimum published help-center articles R11 recommends.
pub const RECOMMENDED_HELP_CENTER_ARTICLES: u32 = 10;

/// R11's checklist. `routing_configured` is true when the account has at least one agent with
/// messaging capacity (routing has someone to route to).
pub fn readiness(
    settings: &Settings,
    facts: &WorkspaceFacts,
    routing_configured: bool,
) -> (bool, Vec<ReadinessItem>) {
    let items = vec![
        ReadinessItem {
            name: "agent_workspace",
            level: "required",
            ok: settings.agent_workspace.enabled,
            explanation: if settings.agent_workspace.enabled {
                "The agent workspace is enabled.".into()
            } else {
                "Enable the agent workspace (agent_workspace.enabled); messaging needs it.".into()
            },
        },
        ReadinessItem {
            name: "groups",
            level: "required",
            ok: !facts.groups.is_empty(),
            explanation: if facts.groups.is_empty() {
                "Create at least one agent group so conversations can be routed to a team.".into()
            } else {
                format!("{} agent group(s) configured.", facts.groups.len())
            },
        },
        ReadinessItem {
            name: "routing",
            level: "required",
            ok: routing_configured,
            explanation: if routing_configured {
                format!(
                    "Routing by {} has agents with messaging capacity.",
                    serde_json::to_value(settings.routing.method)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            } else {
                "Give at least one agent a messaging capacity so routing has someone to offer conversations to.".into()
            },
        },
        ReadinessItem {
            name: "help_center",
            level: "recommended",
            ok: facts.help_center_articles >= RECOMMENDED_HELP_CENTER_ARTICLES,
            explanation: format!(
                "{} published help-center article(s); at least {RECOMMENDED_HELP_CENTER_ARTICLES} let the bot answer common questions.",
                facts.help_center_articles
            ),
        },
        ReadinessItem {
            name: "away_message",
            level: "recommended",
            ok: settings.messaging.away_message.is_some(),
            explanation: if settings.messaging.away_message.is_some() {
                "An away message tells customers who write outside business hours when to expect an answer.".into()
            } else {
                "Set messaging.away_message so customers who write outside business hours know when to expect an answer.".into()
            },
        },
    ];
    let ready = items.iter().filter(|i| i.level == "required").all(|i| i.ok);
    (ready, items)
}
