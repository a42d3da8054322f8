//! The one place errors become HTTP: each layer's error type to a status, a stable
//! snake_case code and a message that never carries internals.

use http::StatusCode;

use domain::rules::MAX_BODY_BYTES;

use use_cases::auth::AuthError;
use use_cases::error::{DomainError, StoreError};
use use_cases::visitors::WidgetError;

/// An error as the client sees it: status, stable snake_case code, human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For 405: the methods the path takes (the `Allow` header).
    pub allow: Vec<&'static str>,
    /// For 429: when to come back (the `Retry-After` header, seconds).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "route_not_found", "no such route")
    }

    /// 405 for a path that is served, not with this method; `allow` lists the methods it takes.
    pub fn method_not_allowed(allow: &[&'static str]) -> Self {
        Self {
            allow: allow.to_vec(),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this route accepts {}", allow.join(", ")),
            )
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 428: a conditional write without its precondition (`If-Match`).
    pub fn precondition_required(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            message,
        )
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        )
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        let message = error.to_string();
        match error {
            DomainError::InvalidRequest(_) => Self::invalid_request(message),
            DomainError::MessageTooLong { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "message_too_long",
                message,
            ),
            DomainError::Unprocessable(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_message", message)
            }
            DomainError::IdempotencyConflict => {
                Self::new(StatusCode::CONFLICT, "idempotency_conflict", message)
            }
            DomainError::InternalNoteForbidden => {
                Self::forbidden("internal_note_forbidden", message)
            }
            DomainError::AttachmentNotUsable(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment_not_usable",
                message,
            ),
            DomainError::InvalidTransition(_) => {
                Self::new(StatusCode::CONFLICT, "invalid_transition", message)
            }
            DomainError::InvalidField(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
            }
            DomainError::InvalidReportRange(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_report_range",
                message,
            ),
            DomainError::InvalidArticle(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_article", message)
            }
            DomainError::InvalidMacro(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_macro", message)
            }
            DomainError::ReportZoneMismatch { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "tz_mismatch", message)
            }
            DomainError::InvalidProfile(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_profile", message)
            }
            DomainError::InvalidVisitorContext(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_visitor_context",
                message,
            ),
            DomainError::PageViewsDisabled => Self::forbidden("page_views_disabled", message),
            DomainError::NotTheEndUser => Self::forbidden("forbidden", message),
            DomainError::UnknownAgent(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_agent", message)
            }
            // R20.
            DomainError::SessionEndingDisabled => {
                Self::forbidden("session_ending_disabled", message)
            }
            DomainError::NotUnderBotControl => {
                Self::new(StatusCode::CONFLICT, "not_under_bot_control", message)
            }
            DomainError::AlreadyRated => Self::new(StatusCode::CONFLICT, "already_rated", message),
            DomainError::NoSurvey => Self::new(StatusCode::NOT_FOUND, "no_survey", message),
            DomainError::InvalidCapacity { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_capacity",
                message,
            ),
            DomainError::InvalidGroups { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_groups", message)
            }
            DomainError::InvalidWorkspace { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_workspace",
                message,
            ),
            DomainError::NotOffered => Self::forbidden("not_offered", message),
            DomainError::OfferNotStanding => {
                Self::new(StatusCode::CONFLICT, "offer_not_standing", message)
            }
            DomainError::NotUploaded => Self::new(StatusCode::CONFLICT, "not_uploaded", message),
        }
    }
}

impl From<domain::attachments::AdmissionError> for ApiError {
    fn from(error: domain::attachments::AdmissionError) -> Self {
        use domain::attachments::AdmissionError as E;
        let message = error.to_string();
        let unprocessable =
            |code| Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message.clone());
        match error {
            // R7.
            E::Disabled => Self::forbidden("attachments_disabled", message),
            // R18.
            E::PrivateUnavailable => unprocessable("private_attachments_unavailable"),
            E::InvalidFileName(_) => unprocessable("invalid_file_name"),
            E::ExtensionNotAllowed(_) => unprocessable("extension_not_allowed"),
            E::InvalidSize => unprocessable("invalid_attachment_size"),
            E::InvalidContentType(_) => unprocessable("invalid_content_type"),
        }
    }
}

impl From<domain::settings::SettingsError> for ApiError {
    fn from(error: domain::settings::SettingsError) -> Self {
        let message = error.to_string();
        match error {
            domain::settings::SettingsError::Unknown(_) => {
                Self::new(StatusCode::BAD_REQUEST, "unknown_setting", message)
            }
            domain::settings::SettingsError::Invalid { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_setting", message)
            }
        }
    }
}

impl From<use_cases::settings_change::ChangeError> for ApiError {
    fn from(error: use_cases::settings_change::ChangeError) -> Self {
        use use_cases::settings_change::ChangeError as E;
        match error {
            E::Settings(error) => error.into(),
            E::VersionConflict { current } => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "version_conflict",
                format!("the settings changed; the current version is {current}: read them again"),
            ),
            E::Store(error) => error.into(),
        }
    }
}

impl From<WidgetError> for ApiError {
    fn from(error: WidgetError) -> Self {
        let message = error.to_string();
        match error {
            WidgetError::UnknownKey => {
                Self::new(StatusCode::NOT_FOUND, "unknown_widget_key", message)
            }
            WidgetError::OriginNotAllowed(_) => Self::forbidden("origin_not_allowed", message),
            WidgetError::RateLimited { retry_after_secs } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            },
            WidgetError::NotAVisitor => Self::forbidden("not_a_visitor", message),
            WidgetError::VisitorsDisabled => Self::forbidden("visitors_disabled", message),
            WidgetError::InvalidUserToken => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_user_token",
                message,
            ),
            WidgetError::Store(error) => error.into(),
        }
    }
}

impl From<use_cases::agent_workspace::WorkspaceError> for ApiError {
    fn from(error: use_cases::agent_workspace::WorkspaceError) -> Self {
        use use_cases::agent_workspace::WorkspaceError as E;
        let message = error.to_string();
        match error {
            E::Forbidden(_) => Self::forbidden("forbidden", message),
            E::NotFound => Self::not_found(),
            E::InvalidCursor => Self::new(StatusCode::BAD_REQUEST, "invalid_cursor", message),
            E::Domain(error) => error.into(),
            E::Store(error) => error.into(),
        }
    }
}

impl From<use_cases::integration_keys::IntegrationError> for ApiError {
    fn from(error: use_cases::integration_keys::IntegrationError) -> Self {
        use use_cases::integration_keys::IntegrationError as E;
        let message = error.to_string();
        match error {
            E::NotAdmin => Self::forbidden("forbidden", message),
            E::NotFound => Self::not_found(),
            E::TooMany => Self::new(StatusCode::CONFLICT, "too_many_integrations", message),
            E::TooManyWebhooks => Self::new(StatusCode::CONFLICT, "too_many_webhooks", message),
            E::Domain(error) => error.into(),
            E::Store(error) => error.into(),
        }
    }
}

impl From<use_cases::satisfaction::SurveyError> for ApiError {
    fn from(error: use_cases::satisfaction::SurveyError) -> Self {
        use use_cases::satisfaction::SurveyError as E;
        let message = error.to_string();
        match error {
            E::Forbidden(_) => Self::forbidden("forbidden", message),
            E::NotFound => Self::not_found(),
            E::Domain(error) => error.into(),
            E::Store(error) => error.into(),
        }
    }
}

impl From<use_cases::reports::ReportError> for ApiError {
    fn from(error: use_cases::reports::ReportError) -> Self {
        use use_cases::reports::ReportError as E;
        let message = error.to_string();
        match error {
            E::Forbidden => Self::forbidden("forbidden", message),
            E::Domain(error) => error.into(),
            E::Store(error) => error.into(),
        }
    }
}

impl From<use_cases::knowledge::KnowledgeError> for ApiError {
    fn from(error: use_cases::knowledge::KnowledgeError) -> Self {
        use use_cases::knowledge::KnowledgeError as E;
        let message = error.to_string();
        match error {
            E::NotAdmin => Self::forbidden("forbidden", message),
            E::NotFound => Self::not_found(),
            E::TooManyArticles => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_articles",
                message,
            ),
            E::InvalidQuery => Self::invalid_request(message),
            E::Domain(error) => error.into(),
            E::Store(error) => error.into(),
        }
    }
}

impl From<use_cases::macros::MacroError> for ApiError {
    fn from(error: use_cases::macros::MacroError) -> Self {
        use use_cases::macros::MacroError as E;
        let message = error.to_string();
        match error {
            E::NotStaff => Self::forbidden("forbidden", message),
            E::NotFound => Self::not_found(),
            E::TooManyMacros => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "too_many_macros", message)
            }
            E::Domain(error) => error.into(),
            E::Store(error) => error.into(),
            E::Conversation(error) => error.into(),
            E::Workspace(error) => error.into(),
        }
    }
}

impl From<use_cases::signing_keys::SigningKeyError> for ApiError {
    fn from(error: use_cases::signing_keys::SigningKeyError) -> Self {
        use use_cases::signing_keys::SigningKeyError as E;
        let message = error.to_string();
        match error {
            E::Forbidden => Self::forbidden("forbidden", message),
            E::NotFound => Self::not_found(),
            E::TooMany => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "too_many_keys", message),
            E::InvalidAccountId | E::AccountExists(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
            }
            E::Store(error) => error.into(),
        }
    }
}

impl From<use_cases::quotas::QuotaError> for ApiError {
    fn from(error: use_cases::quotas::QuotaError) -> Self {
        let message = error.to_string();
        match error {
            use_cases::quotas::QuotaError::Exceeded {
                retry_after_secs, ..
            } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded", message)
            },
            use_cases::quotas::QuotaError::Store(error) => error.into(),
        }
    }
}

impl From<use_cases::conversations::ConversationError> for ApiError {
    fn from(error: use_cases::conversations::ConversationError) -> Self {
        use use_cases::conversations::ConversationError as E;
        match error {
            E::Domain(error) => error.into(),
            E::Store(error) => error.into(),
            E::Quota(error) => error.into(),
            E::NotFound => ApiError::not_found(),
        }
    }
}

impl From<use_cases::presence::PresenceError> for ApiError {
    fn from(error: use_cases::presence::PresenceError) -> Self {
        use use_cases::presence::PresenceError as E;
        match error {
            E::Domain(error) => error.into(),
            E::Store(error) => error.into(),
            E::NotFound => ApiError::not_found(),
        }
    }
}

impl From<use_cases::attachments::AttachmentError> for ApiError {
    fn from(error: use_cases::attachments::AttachmentError) -> Self {
        use use_cases::attachments::AttachmentError as E;
        match error {
            E::Admission(error) => error.into(),
            E::Domain(error) => error.into(),
            E::Quota(error) => error.into(),
            E::Store(error) => error.into(),
            E::NotFound => ApiError::not_found(),
        }
    }
}

impl From<use_cases::settings_read::WorkspaceFactsError> for ApiError {
    fn from(error: use_cases::settings_read::WorkspaceFactsError) -> Self {
        use use_cases::settings_read::WorkspaceFactsError as E;
        match error {
            E::Domain(error) => error.into(),
            E::Store(error) => error.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        // Internal details go to the log, never to the client.
        tracing::error!(error = %error, "storage failure");
        match error {
            StoreError::Unavailable(_) | StoreError::Conflict => Self {
                retry_after_secs: Some(1),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "the service is busy; retry the request",
                )
            },
            StoreError::TooLarge(_) => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "this would make a stored record larger than the store keeps (400 KB)",
            ),
            StoreError::AlreadyExists | StoreError::Refused(_) | StoreError::Internal(_) => {
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "an internal error occurred",
                )
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Store(store) => store.into(),
            AuthError::Expired => Self::new(
                StatusCode::UNAUTHORIZED,
                "token_expired",
                "the bearer token has expired",
            ),
            other => {
                tracing::info!(reason = %other, "token refused");
                Self::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "a valid bearer token is required",
                )
            }
        }
    }
}
