//! `upload-attachment`: admission of files (R7, R18), upload targets S3 enforces, status and
//! download URLs of clean files (R19).
//!
//! Routes (spec "HTTP contract"):
//! - `POST /v1/conversations/{cid}/attachments`
//! - `POST /v1/conversations/{cid}/attachments/{aid}/complete`
//! - `GET /v1/conversations/{cid}/attachments/{aid}`

use http::StatusCode;

use domain::attachments::AdmitRequest;
use domain::views::{admitted_view, decision_view, downloadable_view};
use edge::api::{
    attachment_id, conversation_id, json, parse_json, serve, ApiError, ApiRequest, ApiResponse,
};
use edge::routes::{Matched, Operation, UPLOAD_ATTACHMENT};
use use_cases::attachments;
use use_cases::auth::Principal;
use use_cases::backend::Backend;

/// Handles one HTTP request. Never panics on request data; every failure is a JSON error.
pub async fn handle(backend: &Backend, request: ApiRequest) -> ApiResponse {
    serve(UPLOAD_ATTACHMENT, backend, &request, dispatch).await
}

/// `…/complete` takes an empty body or `{}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteRequest {}

async fn dispatch(
    backend: &Backend,
    request: &ApiRequest,
    route: Matched,
    principal: Principal,
) -> Result<ApiResponse, ApiError> {
    let cid = &conversation_id(&route)?;
    match route.operation() {
        Operation::AdmitAttachment => {
            let body: AdmitRequest = parse_json(request)?;
            let (attachment, target) = attachments::admit(backend, &principal, cid, &body).await?;
            Ok(json(
                StatusCode::CREATED,
                &admitted_view(&attachment, &target),
            ))
        }
        Operation::CompleteAttachment => {
            let aid = &attachment_id(&route)?;
            let CompleteRequest {} = parse_json(request)?;
            let decided = attachments::complete(backend, &principal, cid, aid).await?;
            Ok(json(StatusCode::OK, &decision_view(&decided)))
        }
        Operation::GetAttachment => {
            let aid = &attachment_id(&route)?;
            let (attachment, download) = attachments::status(backend, &principal, cid, aid).await?;
            let download = download.as_ref().map(|(url, at)| (url.as_str(), *at));
            Ok(json(
                StatusCode::OK,
                &downloadable_view(&attachment, download),
            ))
        }
        // The table gives this function only the operations above.
        _ => Err(ApiError::route_not_found()),
    }
}
