//! The checks a settings patch passes besides its types (spec "Settings"): known keys only,
//! the widget's rules, business hours, retention, the idle timeout and the help centre's URL.

use serde_json::Value;

use super::*;

pub(super) fn invalid(rule: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        rule,
        message: message.into(),
    }
}

/// Checks every key of `patch` against the schema (the shape of the defaults document).
pub(super) fn check_known_keys(
    schema: &Value,
    patch: &Value,
    prefix: &str,
) -> Result<(), SettingsError> {
    let Value::Object(patch) = patch else {
        return Err(invalid(
            "schema",
            if prefix.is_empty() {
                "a settings patch must be a JSON object".to_string()
            } else {
                format!("`{prefix}` is a group of settings and takes an object")
            },
        ));
    };
    for (key, value) in patch {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let Some(expected) = schema.get(key) else {
            return Err(SettingsError::Unknown(path));
        };
        if expected.is_object() && !value.is_null() {
            check_known_keys(expected, value, &path)?;
        }
    }
    Ok(())
}

/// The widget's part of a patch: `widget.key` is generated, never chosen (`null` rotates it,
/// and an account without one gets one with any change); allowed origins must be origins.
pub(super) fn check_widget(
    patch: &Value,
    account_id: &str,
    after: &mut Settings,
    sparse: &mut Value,
) -> Result<(), SettingsError> {
    let rotate = match patch.pointer("/widget/key") {
        None => false,
        Some(Value::Null) => true,
        Some(_) => {
            return Err(invalid(
                "widget",
                "widget.key is generated, not chosen: patch it to null to rotate it",
            ))
        }
    };
    if rotate {
        let key = crate::widget::new_widget_key(account_id);
        merge_patch(sparse, &serde_json::json!({"widget": {"key": key}}));
        after.widget.key = Some(key);
    }
    let greeting = after.widget.greeting.trim();
    if greeting.is_empty() || greeting.chars().count() > MAX_GREETING_CHARS {
        return Err(invalid(
            "widget",
            format!("widget.greeting takes 1 to {MAX_GREETING_CHARS} characters"),
        ));
    }
    let greeting = after.bot.greeting.trim();
    if greeting.is_empty() || greeting.chars().count() > MAX_GREETING_CHARS {
        return Err(invalid(
            "bot",
            format!("bot.greeting takes 1 to {MAX_GREETING_CHARS} characters"),
        ));
    }
    let origins = &after.widget.allowed_origins;
    if origins.len() > crate::widget::MAX_ALLOWED_ORIGINS {
        return Err(invalid(
            "widget",
            format!(
                "widget.allowed_origins holds at most {} origins",
                crate::widget::MAX_ALLOWED_ORIGINS
            ),
        ));
    }
    for (i, origin) in origins.iter().enumerate() {
        if let Some(problem) = crate::widget::origin_problem(origin) {
            return Err(invalid(
                "widget",
                format!("widget.allowed_origins: {problem}"),
            ));
        }
        if origins[..i].contains(origin) {
            return Err(invalid(
                "widget",
                format!("widget.allowed_origins lists `{origin}` twice"),
            ));
        }
    }
    Ok(())
}

/// Business hours, the away message and the idle timeout (spec "Satisfaction and hours").
pub(super) fn check_hours(after: &Settings) -> Result<(), SettingsError> {
    if let Some(problem) = after.business_hours.problem() {
        return Err(invalid("business_hours", problem));
    }
    let max = crate::business_hours::MAX_AWAY_MESSAGE_CHARS;
    if let Some(text) = &after.messaging.away_message {
        if text.trim().is_empty() || text.chars().count() > max {
            return Err(invalid(
                "business_hours",
                format!("messaging.away_message takes 1 to {max} characters (null for none)"),
            ));
        }
    }
    let messaging = &after.messaging;
    let nullable_ranges = [
        (
            "email_followup",
            "email_followup_minutes",
            messaging.email_followup_minutes,
            &EMAIL_FOLLOWUP_MINUTES_RANGE,
            "for no email",
        ),
        (
            "retention",
            "retention_days",
            messaging.retention_days,
            &RETENTION_DAYS_RANGE,
            "to keep forever",
        ),
        (
            "idle_timeout",
            "idle_timeout_minutes",
            messaging.idle_timeout_minutes,
            &IDLE_TIMEOUT_MINUTES_RANGE,
            "for never",
        ),
    ];
    for (rule, field, value, range, null_means) in nullable_ranges {
        if value.is_some_and(|v| !range.contains(&v)) {
            return Err(invalid(
                rule,
                format!(
                    "messaging.{field} must be between {} and {} (null {null_means})",
                    range.start(),
                    range.end()
                ),
            ));
        }
    }
    Ok(())
}

/// `help_center.base_url`: an https URL without query or fragment (the bot appends
/// `/{article_id}`), or null for the widget's own article view.
pub(super) fn check_help_center(after: &Settings) -> Result<(), SettingsError> {
    let Some(base) = &after.help_center.base_url else {
        return Ok(());
    };
    let parsed = url::Url::parse(base).ok();
    let fits = base.chars().count() <= MAX_HELP_CENTER_URL_CHARS
        && parsed.is_some_and(|u| {
            u.scheme() == "https"
                && u.host_str().is_some()
                && u.query().is_none()
                && u.fragment().is_none()
                && u.username().is_empty()
                && u.password().is_none()
        });
    if fits {
        Ok(())
    } else {
        Err(invalid(
            "help_center",
            format!(
                "help_center.base_url is an https URL of at most {MAX_HELP_CENTER_URL_CHARS} \
                 characters without a query or fragment (null for none)"
            ),
        ))
    }
}
