//! The static pages the product ships (`widget/`, `console/`), served by the local gateway as
//! a static host would serve them, plus the demo shop that embeds the widget with the demo
//! account's widget key. Files are compiled in, so the binary serves them from anywhere.

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;

use use_cases::backend::{Backend, DEMO_ACCOUNT};

/// (path, content type, body) of every static file.
const FILES: &[(&str, &str, &str)] = &[
    (
        "/widget/widget.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../widget/widget.js"),
    ),
    (
        "/widget/core.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../widget/core.js"),
    ),
    (
        "/widget/uploads.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../widget/uploads.js"),
    ),
    (
        "/widget/locales/en.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../widget/locales/en.js"),
    ),
    (
        "/widget/locales/fr.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../widget/locales/fr.js"),
    ),
    (
        "/widget/",
        "text/html; charset=utf-8",
        include_str!("../../../widget/index.html"),
    ),
    (
        "/console/",
        "text/html; charset=utf-8",
        include_str!("../../../console/index.html"),
    ),
    (
        "/console/console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../console/console.js"),
    ),
    (
        "/console/i18n.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../console/i18n.js"),
    ),
    (
        "/console/locales/en.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../console/locales/en.js"),
    ),
    (
        "/console/locales/fr.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../console/locales/fr.js"),
    ),
    (
        "/console/views.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../console/views.js"),
    ),
    (
        "/console/settings.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../console/settings.js"),
    ),
    (
        "/console/alerts.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../console/alerts.js"),
    ),
    (
        "/console/reports.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../console/reports.js"),
    ),
    (
        "/console/knowledge.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../console/knowledge.js"),
    ),
    (
        "/console/console.css",
        "text/css; charset=utf-8",
        include_str!("../../../console/console.css"),
    ),
];

/// The demo shop; `{{WIDGET_KEY}}` becomes the demo account's widget key, `{{LOCALE}}` the
/// `?locale=` of the page's address (a language tag, else empty: the browser's languages).
const DEMO_SHOP: &str = include_str!("../../../widget/demo-shop.html");
pub const DEMO_PATH: &str = "/demo/";

/// Pages may load only their own scripts and stylesheets: no inline script, no inline style
/// (the widget styles its shadow root with a constructed stylesheet and hides with `hidden`;
/// the console links its stylesheet). Nothing else runs, so text that slipped into the page as
/// markup still could not execute or restyle it. They talk to this gateway (HTTP and
/// WebSocket) and to the bucket, which is this gateway in memory mode, the emulator on
/// loopback, or S3 over https. Violations are reported to [`CSP_REPORTS_PATH`], which the
/// browser tests read.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob: https:; \
    connect-src 'self' ws: wss: http://127.0.0.1:* http://localhost:* https:; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'none'; report-uri /__csp-reports";

/// Where browsers report what the policy refused (POST), and where they can be read (GET):
/// a local gateway's aid for the browser tests, never deployed.
pub const CSP_REPORTS_PATH: &str = "/__csp-reports";
/// Reports kept at most, and the largest one read.
const MAX_CSP_REPORTS: usize = 1_000;
const MAX_CSP_REPORT_BYTES: usize = 16 * 1024;

static CSP_REPORTS: std::sync::Mutex<Vec<serde_json::Value>> = std::sync::Mutex::new(Vec::new());

/// Keeps a violation report (POST) or lists those kept (GET), as JSON.
pub async fn csp_reports(
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    use http_body_util::{BodyExt, Limited};
    let respond = |status: StatusCode, body: String| {
        hyper::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_default()
    };
    if request.method() == http::Method::GET {
        let kept = CSP_REPORTS.lock().map(|r| r.clone()).unwrap_or_default();
        return respond(StatusCode::OK, serde_json::Value::Array(kept).to_string());
    }
    let Ok(body) = Limited::new(request.into_body(), MAX_CSP_REPORT_BYTES)
        .collect()
        .await
    else {
        return respond(StatusCode::PAYLOAD_TOO_LARGE, "{}".into());
    };
    let Ok(report) = serde_json::from_slice::<serde_json::Value>(&body.to_bytes()) else {
        return respond(StatusCode::BAD_REQUEST, "{}".into());
    };
    tracing::warn!(%report, "content security policy violation");
    if let Ok(mut kept) = CSP_REPORTS.lock() {
        if kept.len() < MAX_CSP_REPORTS {
            kept.push(report);
        }
    }
    respond(StatusCode::NO_CONTENT, String::new())
}

fn page(content_type: &str, body: String) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .header("content-type", content_type)
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-cache")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// Whether `path` is one of the pages (GET only; the API is everything else).
pub fn is_page(path: &str) -> bool {
    path == "/"
        || path == DEMO_PATH
        || path == "/demo"
        || FILES
            .iter()
            .any(|(p, _, _)| *p == path || p.trim_end_matches('/') == path)
}

/// Serves a page: `/` leads to the demo shop; `/widget` to `/widget/` and so on. The shop
/// embeds the demo account's widget, or `?account=`'s (widget keys are public; tests give
/// each run an account of its own).
pub async fn serve(backend: &Backend, uri: &http::Uri) -> hyper::Response<Full<Bytes>> {
    let path = uri.path();
    let redirect = |to: &str| {
        hyper::Response::builder()
            .status(StatusCode::FOUND)
            .header("location", to)
            .body(Full::new(Bytes::new()))
            .unwrap_or_default()
    };
    if path == "/" {
        return redirect(DEMO_PATH);
    }
    if path == DEMO_PATH {
        let param = |name: &str| {
            uri.query().and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            })
        };
        let account = param("account")
            .filter(|a| use_cases::auth::is_safe_identifier(a))
            .unwrap_or_else(|| DEMO_ACCOUNT.into());
        let locale = param("locale")
            .filter(|l| l.len() <= 12 && l.chars().all(|c| c.is_ascii_alphabetic() || c == '-'))
            .unwrap_or_default();
        let plain = |status: StatusCode, text: &'static str| {
            hyper::Response::builder()
                .status(status)
                .body(Full::new(Bytes::from(text)))
                .unwrap_or_default()
        };
        return match backend.stored_and_effective_settings(&account).await {
            // Settings of an account that does not exist have no widget key.
            Ok((_, settings)) => match settings.widget.key {
                Some(key) => page(
                    "text/html; charset=utf-8",
                    DEMO_SHOP
                        .replace("{{WIDGET_KEY}}", &key)
                        .replace("{{LOCALE}}", &locale),
                ),
                None => plain(StatusCode::NOT_FOUND, "no such account"),
            },
            Err(error) => {
                tracing::error!(%error, "settings unreadable for the demo shop");
                plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the demo account is not ready",
                )
            }
        };
    }
    match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, body)) => page(content_type, body.to_string()),
        // `/widget` → `/widget/`, `/demo` → `/demo/`.
        None => redirect(&format!("{path}/")),
    }
}
