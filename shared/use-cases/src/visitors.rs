//! The widget's use cases (spec "Widget (browser)", R28): its public configuration by widget
//! key, anonymous visitors (rate-limited, signed with the account's own visitor key), identify
//! (a visitor's conversations become the identified user's), and the origin check every end
//! user's browser request passes.

use thiserror::Error;

use crate::auth::{mint_token_in, verify_token, AuthError, Principal};
use crate::backend::Backend;
use crate::error::StoreError;
use crate::ports::update_with_retry;
use domain::model::{Role, SigningKey};
use domain::settings::Settings;
use domain::widget::{
    account_of_widget_key, is_visitor_id, moved_to_identified_user, new_visitor_id, origin_allowed,
    VISITOR_SIGNING_KID, VISITOR_TOKEN_TTL_SECS,
};

/// Why a widget request was refused.
#[derive(Debug, Error)]
pub enum WidgetError {
    /// No account has this widget key (never had, or it was rotated): 404.
    #[error("unknown widget key")]
    UnknownKey,
    /// A browser page of an origin the account does not allow: 403.
    #[error("origin {0} is not allowed for this account")]
    OriginNotAllowed(String),
    /// Too many new visitors from one address: 429 with `Retry-After`.
    #[error("too many new visitors from this address; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The account turned anonymous visitors off (`widget.visitors_enabled`): 403.
    #[error("this account does not admit anonymous visitors")]
    VisitorsDisabled,
    /// Identify was called by someone who is not a visitor: 403.
    #[error("only a visitor token can be identified")]
    NotAVisitor,
    /// The user token to identify with is not a valid end-user token of the same account.
    #[error("user_token is not a valid end-user token of this account")]
    InvalidUserToken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the widget needs before anyone types (`GET /v1/widget/config`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WidgetConfig {
    pub account_id: String,
    pub messaging_enabled: bool,
    pub attachments_enabled: bool,
    /// Whether the team is at work now (`business_hours`; always true when not enabled).
    pub business_hours_open: bool,
    pub greeting: String,
    /// Whether the widget reports the pages the visitor is on (`widget.share_page_views`).
    pub share_page_views: bool,
}

/// The account whose current widget key is `key`, and its settings.
async fn account_of_key(backend: &Backend, key: &str) -> Result<(String, Settings), WidgetError> {
    let account_id = account_of_widget_key(key).ok_or(WidgetError::UnknownKey)?;
    let settings = backend.settings(account_id).await?;
    // A rotated key names the right account but is no longer its key.
    if settings.widget.key.as_deref() != Some(key) {
        return Err(WidgetError::UnknownKey);
    }
    Ok((account_id.to_string(), settings))
}

pub async fn widget_config(
    backend: &Backend,
    key: &str,
    now: i64,
) -> Result<WidgetConfig, WidgetError> {
    let (account_id, settings) = account_of_key(backend, key).await?;
    Ok(WidgetConfig {
        account_id,
        messaging_enabled: settings.messaging.enabled,
        attachments_enabled: settings.attachments.enabled,
        business_hours_open: settings.business_hours.is_open(now),
        greeting: settings.widget.greeting.clone(),
        share_page_views: settings.widget.share_page_views,
    })
}

/// Where a browser request comes from: its `Origin` (none from servers), its own `Host`
/// (same-origin pages are always allowed) and the caller's address (for rate limits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller<'a> {
    pub origin: Option<&'a str>,
    pub host: Option<&'a str>,
    pub source: &'a str,
}

fn check_origin(settings: &Settings, caller: &Caller<'_>) -> Result<(), WidgetError> {
    match caller.origin {
        Some(origin) if !origin_allowed(origin, &settings.widget.allowed_origins, caller.host) => {
            Err(WidgetError::OriginNotAllowed(origin.to_string()))
        }
        _ => Ok(()),
    }
}

/// An end user's browser request must come from an origin the account allows (R28); servers
/// (no `Origin`) and staff are not restricted by it. A visitor's request is refused while the
/// account admits no visitors. Costs a settings read only for browser requests of end users
/// and for visitors.
pub async fn check_end_user_origin(
    backend: &Backend,
    principal: &Principal,
    caller: &Caller<'_>,
) -> Result<(), WidgetError> {
    let visitor = principal.role == Role::EndUser && is_visitor_id(&principal.user_id);
    if principal.role != Role::EndUser || (caller.origin.is_none() && !visitor) {
        return Ok(());
    }
    let settings = backend.settings(&principal.account_id).await?;
    if visitor && !settings.widget.visitors_enabled {
        return Err(WidgetError::VisitorsDisabled);
    }
    check_origin(&settings, caller)
}

/// A new anonymous visitor and their token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewVisitor {
    pub visitor_id: String,
    pub token: String,
    /// Epoch seconds.
    pub expires_at: i64,
}

/// The account's visitor signing key, created on first use with a random secret.
async fn visitor_signing_key(
    backend: &Backend,
    account_id: &str,
) -> Result<SigningKey, StoreError> {
    if let Some(key) = backend
        .store
        .get_signing_key(account_id, VISITOR_SIGNING_KID)
        .await?
    {
        return Ok(key);
    }
    // Two random ids: 256 bits of secret.
    let secret = format!("{}{}", domain::ids::new_id("vk"), domain::ids::new_id("vk"));
    backend
        .store
        .create_signing_key_if_absent(&SigningKey {
            account_id: account_id.into(),
            kid: VISITOR_SIGNING_KID.into(),
            secret,
            created_at: domain::now_ms(),
        })
        .await
}

/// `POST /v1/widget/visitors`: checks the key and origin, counts the caller's address against
/// the rate limit, and mints a visitor token under the account's visitor key, with the
/// widget's language as its `locale` claim when it is one we speak (the server's texts follow).
pub async fn admit_visitor(
    backend: &Backend,
    widget_key: &str,
    locale: Option<domain::locale::Locale>,
    caller: &Caller<'_>,
    now_ms: i64,
) -> Result<NewVisitor, WidgetError> {
    let (account_id, settings) = account_of_key(backend, widget_key).await?;
    check_origin(&settings, caller)?;
    if !settings.widget.visitors_enabled {
        return Err(WidgetError::VisitorsDisabled);
    }
    let rate = backend.limits.visitor_rate;
    let (window, retry_after_secs) = rate.window(now_ms);
    let count = backend
        .store
        .count_visitor_signup(
            &account_id,
            // R33: an IPv6 /64 is one address (a host is given a whole /64).
            &domain::quotas::address_key(caller.source),
            (window, window + rate.window_ms),
        )
        .await?;
    if count > rate.per_window {
        return Err(WidgetError::RateLimited { retry_after_secs });
    }
    let key = visitor_signing_key(backend, &account_id).await?;
    let visitor_id = new_visitor_id();
    let issued_at = now_ms / 1000;
    let token = mint_token_in(
        &account_id,
        &key.kid,
        &key.secret,
        &visitor_id,
        Role::EndUser,
        (issued_at, VISITOR_TOKEN_TTL_SECS),
        locale,
    );
    Ok(NewVisitor {
        visitor_id,
        token,
        expires_at: issued_at + VISITOR_TOKEN_TTL_SECS,
    })
}

/// What identify did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identified {
    pub user_id: String,
    /// Conversations that changed hands in this call (0 when a retry finds them moved).
    pub moved: usize,
}

/// At most this many of a visitor's conversations move in one identify (a visitor lives a
/// day; the widget starts one conversation at a time).
const MAX_VISITOR_CONVERSATIONS: usize = 100;

/// `POST /v1/widget/identify`: the visitor's conversations become the identified user's, each
/// in one conditional write, so a retry moves nothing twice and the visitor token no longer
/// reaches them.
pub async fn identify(
    backend: &Backend,
    visitor: &Principal,
    user_token: &str,
) -> Result<Identified, WidgetError> {
    if visitor.role != Role::EndUser || !is_visitor_id(&visitor.user_id) {
        return Err(WidgetError::NotAVisitor);
    }
    let now_secs = domain::now_ms() / 1000;
    let user = verify_token(
        backend.store.as_ref(),
        &backend.signing_keys,
        user_token,
        now_secs,
    )
    .await
    .map_err(|error| match error {
        AuthError::Store(error) => WidgetError::Store(error),
        _ => WidgetError::InvalidUserToken,
    })?;
    // Another account's user, staff, or another visitor: never.
    if user.account_id != visitor.account_id
        || user.role != Role::EndUser
        || is_visitor_id(&user.user_id)
    {
        return Err(WidgetError::InvalidUserToken);
    }
    let conversations = backend
        .store
        .list_conversations_for_user(
            &visitor.account_id,
            &visitor.user_id,
            MAX_VISITOR_CONVERSATIONS,
        )
        .await?;
    let mut moved = 0;
    for conversation in conversations {
        let mut changed = false;
        update_with_retry::<StoreError, _>(backend.store.as_ref(), conversation, |current| {
            let next = moved_to_identified_user(
                current,
                &visitor.user_id,
                &user.user_id,
                domain::now_ms(),
            );
            changed = next.is_some();
            Ok(next)
        })
        .await?;
        moved += usize::from(changed);
    }
    tracing::info!(
        account_id = %visitor.account_id,
        visitor_id = %visitor.user_id,
        user_id = %user.user_id,
        moved,
        "visitor identified"
    );
    Ok(Identified {
        user_id: user.user_id,
        moved,
    })
}
