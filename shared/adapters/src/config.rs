//! Typed configuration read from the environment once per cold start.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A required, non-empty environment variable.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// An optional environment variable; empty counts as unset.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Resource names and locations every function needs.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub table_name: String,
    pub routing_queue_url: String,
    pub settings_effects_queue_url: String,
    pub attachments_bucket: String,
    /// S3 notifications of new attachment objects (consumed by validate-attachment).
    pub attachment_events_queue_url: String,
    /// Webhook deliveries (consumed by deliver-webhook).
    pub webhook_queue_url: String,
    /// Stream reactions to run again (consumed by the fan-out, R31).
    pub reactions_queue_url: String,
    /// The WebSocket API stage's management URL, for functions that push frames (R27).
    pub realtime_endpoint: Option<String>,
    /// R35: who emails come from and the domain of reply addresses (both, or no email), and
    /// SES's configuration set (bounces and complaints).
    pub email: Option<EmailConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConfig {
    pub from: String,
    pub reply_domain: String,
    pub configuration_set: Option<String>,
}

impl FunctionConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// The configuration from `lookup`, by the functions' environment variable names (the
    /// environment, or a stack's outputs for `relay-admin`); empty counts as unset.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| optional(name).ok_or(ConfigError::Missing(name));
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            routing_queue_url: required("ROUTING_QUEUE_URL")?,
            settings_effects_queue_url: required("SETTINGS_EFFECTS_QUEUE_URL")?,
            attachments_bucket: required("ATTACHMENTS_BUCKET")?,
            attachment_events_queue_url: required("ATTACHMENT_EVENTS_QUEUE_URL")?,
            webhook_queue_url: required("WEBHOOK_QUEUE_URL")?,
            reactions_queue_url: required("REACTIONS_QUEUE_URL")?,
            realtime_endpoint: optional("REALTIME_ENDPOINT"),
            email: match (optional("EMAIL_FROM"), optional("EMAIL_REPLY_DOMAIN")) {
                (Some(from), Some(reply_domain)) => Some(EmailConfig {
                    from,
                    reply_domain,
                    configuration_set: optional("EMAIL_CONFIGURATION_SET"),
                }),
                _ => None,
            },
        })
    }
}
