//! CORS for browsers (spec "Widget (browser)"): every route answers a preflight itself (the
//! template's HTTP API has no CORS configuration of its own, so API Gateway passes `OPTIONS`
//! to the function, and the local gateway behaves the same). No cookies are used, so any page
//! may *ask*: the request's origin is echoed, and what an origin may *do* is decided per
//! account on the actual request (an end user's origin must be in `widget.allowed_origins`,
//! 403 `origin_not_allowed`). Echoing on errors lets the widget read why it was refused.

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};

// The edge's request and response types (`api::ApiRequest`/`ApiResponse`), spelled out so
// that CORS stays below the module that uses it.
type ApiRequest = Request<Bytes>;
type ApiResponse = Response<String>;

/// How long a browser may reuse a preflight answer (Chromium caps it at 2 h).
pub const PREFLIGHT_MAX_AGE_SECS: u32 = 600;
pub const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
pub const ALLOWED_HEADERS: &str = "authorization, content-type, if-match";
/// Response headers a page's script may read besides the simple ones.
pub const EXPOSED_HEADERS: &str = "etag, retry-after, allow, x-request-id";

fn origin_of(request: &ApiRequest) -> Option<HeaderValue> {
    request.headers().get(http::header::ORIGIN).cloned()
}

/// 204 for `OPTIONS` on a served path.
pub fn preflight(request: &ApiRequest) -> ApiResponse {
    let mut response = ApiResponse::new(String::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(http::header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin_of(request) {
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            http::header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        headers.insert(
            http::header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(
            http::header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
        );
    }
    response
}

/// Lets the requesting page read `response` (errors included).
pub fn allow_reading(request: &ApiRequest, response: &mut ApiResponse) {
    let headers = response.headers_mut();
    headers.insert(http::header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin_of(request) {
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
}
