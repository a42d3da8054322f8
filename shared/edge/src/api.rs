//! The HTTP edge shared by every function: the one place that maps errors to status codes and
//! stable error codes, JSON body parsing with the contract's limits, and authentication.
//!
//! Handlers work on `http::Request<Bytes>` / `http::Response<String>`, so the same handler runs
//! under Lambda (via `lambda_http`) and in the local gateway.

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use domain::model::Role;
use domain::rules::MAX_BODY_BYTES;
use use_cases::auth::{bearer_token, verify_token, AuthError, Principal};
use use_cases::backend::Backend;

use crate::routes::{route_of, Matched};
use use_cases::error::{DomainError, StoreError};
use use_cases::visitors::{check_end_user_origin, Caller, WidgetError};

pub type ApiRequest = Request<Bytes>;
pub type ApiResponse = Response<String>;

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
            DomainError::InvalidProfile(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_profile", message)
            }
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
            StoreError::AlreadyExists | StoreError::Internal(_) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred",
            ),
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

fn with_json_headers(mut response: ApiResponse) -> ApiResponse {
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}

/// 204 with no body (a deletion done).
pub fn no_content() -> ApiResponse {
    let mut response = Response::new(String::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}

/// A JSON response with `status`.
pub fn json(status: StatusCode, body: &impl Serialize) -> ApiResponse {
    match serde_json::to_string(body) {
        Ok(text) => {
            let mut response = Response::new(text);
            *response.status_mut() = status;
            with_json_headers(response)
        }
        Err(error) => {
            tracing::error!(%error, "response encoding failed");
            error_response(&ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred",
            ))
        }
    }
}

/// The contract's error body: `{"error": {"code", "message"}}`.
pub fn error_response(error: &ApiError) -> ApiResponse {
    let body = serde_json::json!({"error": {"code": error.code, "message": error.message}});
    let mut response = Response::new(body.to_string());
    *response.status_mut() = error.status;
    if !error.allow.is_empty() {
        if let Ok(allow) = HeaderValue::from_str(&error.allow.join(", ")) {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
    }
    if let Some(seconds) = error.retry_after_secs {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    with_json_headers(response)
}

/// Turns a handler result into the response, logging server-side failures.
pub fn respond(result: Result<ApiResponse, ApiError>) -> ApiResponse {
    match result {
        Ok(response) => response,
        Err(error) => {
            if error.status.is_server_error() {
                tracing::warn!(code = error.code, "request failed");
            }
            error_response(&error)
        }
    }
}

/// Refuses oversize bodies (413). Call before anything that costs an AWS request.
pub fn check_body_size(request: &ApiRequest) -> Result<(), ApiError> {
    if request.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large());
    }
    Ok(())
}

/// Parses a JSON body into `T` (which should deny unknown fields). An empty body counts as `{}`
/// (whitespace alone is not JSON: 400); any other body must be a JSON object (`[]` is not one, though serde would read a struct
/// from it). A number with a zero fraction (`4.0`) is the integer it equals, as JSON Schema's
/// `integer` says (#40), so clients that write every number as a float are understood.
pub fn parse_json<T: DeserializeOwned>(request: &ApiRequest) -> Result<T, ApiError> {
    check_body_size(request)?;
    let body: &[u8] = if request.body().is_empty() {
        b"{}"
    } else {
        request.body()
    };
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::invalid_request("invalid request body: malformed JSON"))?;
    if !value.is_object() {
        return Err(ApiError::invalid_request(
            "invalid request body: a JSON object is expected",
        ));
    }
    integers_as_integers(&mut value);
    serde_json::from_value(value)
        .map_err(|error| ApiError::invalid_request(format!("invalid request body: {error}")))
}

/// Rewrites every number with a zero fraction and an integer's range as that integer.
fn integers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            if let Some(float) = number.as_f64() {
                let whole = float.fract() == 0.0;
                if whole && float >= 0.0 && float < u64::MAX as f64 {
                    *value = serde_json::Value::from(float as u64);
                } else if whole && float < 0.0 && float >= i64::MIN as f64 {
                    *value = serde_json::Value::from(float as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integers_as_integers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integers_as_integers),
        _ => {}
    }
}

/// Query parameter `name` parsed as `T`; absent is `None`, unparseable is 400.
pub fn query_param<T: std::str::FromStr>(
    request: &ApiRequest,
    name: &str,
) -> Result<Option<T>, ApiError> {
    let Some(query) = request.uri().query() else {
        return Ok(None);
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == name {
            return value.parse().map(Some).map_err(|_| {
                ApiError::invalid_request(format!("query parameter {name} is not valid"))
            });
        }
    }
    Ok(None)
}

/// Authenticates the bearer token of `request` (401 on any failure); an end user's browser
/// request must also come from an origin the account allows (403 `origin_not_allowed`, R28).
///
/// An integration key is accepted only where the route admits one of its scopes
/// (`admits`, from the route table: `Matched::integration_scope`); 403 `insufficient_scope`
/// elsewhere, 401 once revoked.
pub async fn authenticate(
    backend: &use_cases::backend::Backend,
    request: &ApiRequest,
    admits: Option<domain::integrations::IntegrationScope>,
) -> Result<Principal, ApiError> {
    let header = match request.headers().get(http::header::AUTHORIZATION) {
        Some(value) => Some(value.to_str().map_err(|_| AuthError::Malformed)?),
        None => None,
    };
    let token = bearer_token(header)?;
    if domain::integrations::looks_like_key(token) {
        let principal = use_cases::integration_keys::verify_key(
            backend.store.as_ref(),
            backend.unknown_integration_keys.as_ref(),
            token,
            domain::now_ms(),
        )
        .await?;
        return match admits {
            Some(scope) if principal.scopes.contains(&scope) => Ok(principal),
            _ => Err(ApiError::forbidden(
                "insufficient_scope",
                "this integration key's scopes do not include this route",
            )),
        };
    }
    let principal = authenticate_token(backend, token).await?;
    check_end_user_origin(backend, &principal, &caller_of(request)).await?;
    Ok(principal)
}

/// The address a request came from, as the platform saw it (API Gateway's `sourceIp`, the
/// local gateway's peer): put in the request's extensions by whoever accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAddress(pub String);

/// Where `request` comes from: `Origin`, `Host` and source address (`unknown` when the
/// platform gave none).
pub fn caller_of(request: &ApiRequest) -> Caller<'_> {
    let from_headers = caller_of_headers(request.headers());
    Caller {
        host: from_headers
            .host
            .or_else(|| request.uri().authority().map(|a| a.as_str())),
        source: request
            .extensions()
            .get::<SourceAddress>()
            .map_or(from_headers.source, |s| s.0.as_str()),
        ..from_headers
    }
}

/// `Origin` and `Host` of a request's (or a WebSocket handshake's) headers; the source address
/// is not in them (`unknown`).
pub fn caller_of_headers(headers: &http::HeaderMap) -> Caller<'_> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    };
    Caller {
        // `Origin: null` (sandboxed frames, file: pages) is an origin no account lists.
        origin: header(http::header::ORIGIN),
        host: header(http::header::HOST),
        source: "unknown",
    }
}

/// Authenticates a token however it came (a header, or a WebSocket's query): 401 on any
/// failure.
pub async fn authenticate_token(
    backend: &use_cases::backend::Backend,
    token: &str,
) -> Result<Principal, ApiError> {
    let now_secs = domain::now_ms() / 1000;
    let (accounts, keys) = (backend.store.as_ref(), backend.signing_keys.as_ref());
    Ok(verify_token(accounts, keys, token, now_secs).await?)
}

/// 403 unless the principal has one of `roles`.
pub fn require_role(principal: &Principal, roles: &[Role]) -> Result<(), ApiError> {
    if roles.contains(&principal.role) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "forbidden",
            format!("role {} may not do this", principal.role.as_str()),
        ))
    }
}

/// Splits a path into its non-empty segments (`/v1/a/b` → `["v1", "a", "b"]`).
pub fn split_path(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// The request's path segments.
pub fn path_segments(request: &ApiRequest) -> Vec<&str> {
    split_path(request.uri().path())
}

/// Header that names a request in the logs; support quotes it, tests use it to find the
/// server-side cause of a 5xx.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Runs a function's request `work` and turns its result into the response, with one
/// structured log line per request (function, method, path, status, duration). Everything the
/// request logs is inside a `request` span carrying its `request_id`, which the response
/// returns in `x-request-id`. A function is only reached on its own paths, so it answers every
/// CORS preflight (`OPTIONS`) itself, without running `work`.
pub async fn handle_logged(
    function: &'static str,
    request: &ApiRequest,
    work: impl std::future::Future<Output = Result<ApiResponse, ApiError>>,
) -> ApiResponse {
    if request.method() == http::Method::OPTIONS {
        return crate::cors::preflight(request);
    }
    logged(function, request, work).await
}

/// The start every HTTP function makes, in one place: the body's size first (an oversize body
/// costs no AWS call), then the route in the table, then who calls (a token, or an
/// integration key where the route takes one). `dispatch` gets the matched route and the
/// principal; its result is logged and rendered (`handle_logged`).
pub async fn serve(
    function: &'static str,
    backend: &Backend,
    request: &ApiRequest,
    dispatch: impl AsyncFnOnce(Matched, Principal) -> Result<ApiResponse, ApiError>,
) -> ApiResponse {
    handle_logged(function, request, async {
        let route = start(function, request)?;
        let principal = authenticate(backend, request, route.integration_scope()).await?;
        dispatch(route, principal).await
    })
    .await
}

/// [`serve`] for a function with routes anyone may call (the widget's configuration and its
/// visitors): `dispatch` authenticates on the routes that need it.
pub async fn serve_public(
    function: &'static str,
    request: &ApiRequest,
    dispatch: impl AsyncFnOnce(Matched) -> Result<ApiResponse, ApiError>,
) -> ApiResponse {
    handle_logged(function, request, async {
        dispatch(start(function, request)?).await
    })
    .await
}

fn start(function: &'static str, request: &ApiRequest) -> Result<Matched, ApiError> {
    check_body_size(request)?;
    route_of(function, request)
}

/// Refuses a request no function was reached for (the local gateway's 404 and 413, which API
/// Gateway answers on AWS), logged like every answer; a preflight too is refused.
pub async fn refuse_logged(request: &ApiRequest, error: ApiError) -> ApiResponse {
    logged("local-gateway", request, async { Err(error) }).await
}

async fn logged(
    function: &'static str,
    request: &ApiRequest,
    work: impl std::future::Future<Output = Result<ApiResponse, ApiError>>,
) -> ApiResponse {
    use tracing::Instrument;
    let request_id = domain::ids::new_id("req");
    let span = tracing::info_span!("request", request_id = %request_id, function);
    let started = std::time::Instant::now();
    let mut response = async {
        let response = respond(work.await);
        tracing::info!(
            method = %request.method(),
            path = %request.uri().path(),
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        response
    }
    .instrument(span)
    .await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    crate::cors::allow_reading(request, &mut response);
    response
}

/// The conversation `cid` as `principal` may see it (`auth::visible_conversation`); 404
/// otherwise.
pub async fn visible_conversation(
    store: &dyn use_cases::ports::ConversationStore,
    principal: &Principal,
    cid: &str,
) -> Result<domain::model::Conversation, ApiError> {
    use_cases::auth::visible_conversation(store, principal, cid)
        .await?
        .ok_or_else(ApiError::not_found)
}
