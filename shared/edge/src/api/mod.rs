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
use use_cases::visitors::{check_end_user_origin, Caller};

pub type ApiRequest = Request<Bytes>;
pub type ApiResponse = Response<String>;

mod errors;
pub use errors::ApiError;

fn with_json_headers(response: ApiResponse) -> ApiResponse {
    with_headers(response, "application/json")
}

/// The body's type, and never cached: every answer is one caller's.
fn with_headers(mut response: ApiResponse, content_type: &'static str) -> ApiResponse {
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
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

/// 200 with a CSV body, offered for download as `filename`.
pub fn csv(body: String, filename: &str) -> ApiResponse {
    let mut response = with_headers(Response::new(body), "text/csv; charset=utf-8");
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
    {
        response
            .headers_mut()
            .insert(http::header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// Whether the caller asked for CSV (`Accept: text/csv`) rather than JSON.
pub fn wants_csv(request: &ApiRequest) -> bool {
    request
        .headers()
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"))
        })
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
    dispatch: impl AsyncFnOnce(
        &Backend,
        &ApiRequest,
        Matched,
        Principal,
    ) -> Result<ApiResponse, ApiError>,
) -> ApiResponse {
    handle_logged(function, request, async {
        let route = start(function, request)?;
        let principal = authenticate(backend, request, route.integration_scope()).await?;
        dispatch(backend, request, route, principal).await
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

/// The route's `{cid}`, parsed: a path that cannot name a conversation is a plain 404, before
/// any read.
pub fn conversation_id(route: &Matched) -> Result<domain::ids::ConversationId, ApiError> {
    domain::ids::ConversationId::parse(route.param("cid")).ok_or_else(ApiError::not_found)
}

/// The route's `{aid}`, parsed like [`conversation_id`].
pub fn attachment_id(route: &Matched) -> Result<domain::ids::AttachmentId, ApiError> {
    domain::ids::AttachmentId::parse(route.param("aid")).ok_or_else(ApiError::not_found)
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
