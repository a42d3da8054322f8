//! `widget-api`: what a website's widget calls before it has a user (spec "Widget (browser)",
//! R28).
//!
//! Routes:
//! - `GET /v1/widget/config?key=<widget_key>` (public) → the account's widget configuration
//! - `POST /v1/widget/visitors` `{widget_key}` (public, origin-checked, 30 per minute per
//!   address and account) → 201 a visitor token
//! - `POST /v1/widget/identify` `{user_token}` (visitor token) → the visitor's conversations
//!   become the identified user's
//! - `PUT /v1/conversations/{cid}/visitor-context` `{pages}` (the conversation's end user) →
//!   the pages they were on and their browser (from `User-Agent`), for agents to see

use http::StatusCode;
use serde::Deserialize;

use domain::locale::Locale;
use domain::views::conversation_view;
use domain::visitor_context::PageView;
use edge::api::{
    authenticate, caller_of, conversation_id, json, parse_json, query_param, serve_public,
    ApiError, ApiRequest, ApiResponse,
};
use edge::routes::{Matched, Operation, WIDGET_API};
use edge::user_agent::client_of;
use use_cases::backend::Backend;
use use_cases::visitor_context::share;
use use_cases::visitors::{admit_visitor, identify, widget_config};

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    // Two routes take no token: the visitor's token is checked where it is needed.
    serve_public(WIDGET_API, &request, async |route| {
        dispatch(backend, &request, route).await
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewVisitorRequest {
    widget_key: String,
    /// The widget's language (a BCP 47 tag); one we do not speak is no claim.
    #[serde(default)]
    locale: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentifyRequest {
    user_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitorContextRequest {
    pages: Vec<PageView>,
}

async fn dispatch(
    backend: &Backend,
    request: &ApiRequest,
    route: Matched,
) -> Result<ApiResponse, ApiError> {
    match route.operation() {
        Operation::GetWidgetConfig => {
            let key: String = query_param(request, "key")?
                .ok_or_else(|| ApiError::invalid_request("query parameter key is required"))?;
            let config = widget_config(backend, &key, domain::now_ms()).await?;
            Ok(json(StatusCode::OK, &config))
        }
        Operation::CreateVisitor => {
            let body: NewVisitorRequest = parse_json(request)?;
            let tag = body.locale.unwrap_or_default();
            if tag.chars().count() > 35 {
                return Err(ApiError::invalid_request(
                    "locale is a language tag such as fr-CA",
                ));
            }
            let visitor = admit_visitor(
                backend,
                &body.widget_key,
                Locale::from_tag(&tag),
                &caller_of(request),
                domain::now_ms(),
            )
            .await?;
            Ok(json(StatusCode::CREATED, &visitor))
        }
        Operation::IdentifyVisitor => {
            let visitor = authenticate(backend, request, route.integration_scope()).await?;
            let body: IdentifyRequest = parse_json(request)?;
            let identified = identify(backend, &visitor, &body.user_token).await?;
            // `{user_id, moved}`: the use case's answer is the view.
            Ok(json(StatusCode::OK, &identified))
        }
        Operation::ShareVisitorContext => {
            let end_user = authenticate(backend, request, route.integration_scope()).await?;
            let cid = conversation_id(&route)?;
            let body: VisitorContextRequest = parse_json(request)?;
            let client = client_of(request.headers());
            let now = domain::now_ms();
            let shared = share(backend, &end_user, &cid, body.pages, client, now).await?;
            Ok(json(StatusCode::OK, &conversation_view(&shared, now)))
        }
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}
