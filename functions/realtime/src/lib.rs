//! `realtime`: the WebSocket API's routes on AWS (the local gateway serves the same protocol
//! at `/v1/realtime`).
//!
//! - `$connect`: the `token` query parameter is verified and the connection recorded; a bad
//!   token answers 401, so API Gateway refuses the upgrade.
//! - `$disconnect`: the connection and its subscriptions are forgotten.
//! - `$default`: a client frame (`ping`, `typing`, `subscribe`, `unsubscribe`); answers and
//!   errors are pushed back as frames.

use http::StatusCode;

use edge::api::{error_response, ApiError};
use edge::lambda::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use use_cases::backend::Backend;
use use_cases::realtime;

fn status(code: StatusCode) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(code.as_u16());
    response
}

fn refusal(error: &ApiError) -> ApiGatewayProxyResponse {
    let (parts, body) = error_response(error).into_parts();
    let mut response = status(parts.status);
    response.headers = parts.headers;
    response.body = Some(edge::lambda::EventBody::Text(body));
    response
}

/// Answers one WebSocket route event. Never panics on client data.
pub async fn handle(
    backend: &Backend,
    event: ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let context = &event.request_context;
    let connection_id = context.connection_id.clone().unwrap_or_default();
    let route = context.route_key.clone().unwrap_or_default();
    let span = tracing::info_span!("websocket", route = %route, connection_id = %connection_id);
    let _entered = span.enter();
    if connection_id.is_empty() {
        return refusal(&ApiError::invalid_request("no connection id"));
    }
    match route.as_str() {
        "$connect" => {
            let token = event.query_string_parameters.first("token");
            match edge::websocket::open_connection(backend, token, &event.headers, &connection_id)
                .await
            {
                Ok(()) => status(StatusCode::OK),
                Err(refused) => refusal(&refused),
            }
        }
        "$disconnect" => match realtime::disconnect(backend.store.as_ref(), &connection_id).await {
            Ok(()) => status(StatusCode::OK),
            Err(error) => {
                tracing::warn!(%error, "disconnect failed");
                refusal(&error.into())
            }
        },
        _ => {
            let now = domain::now_ms();
            let outcome = match (&event.body, event.is_base64_encoded) {
                (Some(text), false) => {
                    realtime::on_client_frame(
                        backend.store.as_ref(),
                        backend.push.as_ref(),
                        &connection_id,
                        text,
                        now,
                    )
                    .await
                }
                _ => {
                    realtime::refuse_binary_frame(backend.push.as_ref(), &connection_id, now).await
                }
            };
            match outcome {
                Ok(()) => status(StatusCode::OK),
                Err(error) => {
                    tracing::warn!(%error, "client frame failed");
                    refusal(&error.into())
                }
            }
        }
    }
}
