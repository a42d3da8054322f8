//! The WebSocket API's `$connect` as both the local gateway and the `realtime` function answer
//! it: the token comes in the query (a browser cannot set headers on a WebSocket) and is
//! checked before the upgrade; errors use the HTTP contract's statuses and codes.

use http::StatusCode;

use crate::api::{authenticate_token, caller_of_headers, ApiError};
use domain::realtime::Listener;
use use_cases::auth::AuthError;
use use_cases::backend::Backend;
use use_cases::realtime::{self, ConnectError};
use use_cases::visitors::check_end_user_origin;

/// Verifies `token` and records connection `connection_id` for its principal; the error is the
/// refusal the client gets instead of the upgrade (401 bad token, 403 an end user's page of an
/// origin the account does not allow, as over HTTP; 429 too many connections). `headers` are
/// the handshake's (`Origin`, `Host`).
pub async fn open_connection(
    backend: &Backend,
    token: Option<&str>,
    headers: &http::HeaderMap,
    connection_id: &str,
) -> Result<(), ApiError> {
    let principal = authenticate_token(backend, token.ok_or(AuthError::Missing)?).await?;
    check_end_user_origin(backend, &principal, &caller_of_headers(headers)).await?;
    let listener = Listener {
        account_id: principal.account_id,
        user_id: principal.user_id,
        role: principal.role,
    };
    match realtime::connect(
        backend.store.as_ref(),
        listener,
        connection_id,
        domain::now_ms(),
        &backend.limits,
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(ConnectError::TooManyConnections) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            "the account holds its maximum of connections",
        )),
        Err(error @ ConnectError::ListenerQuota(_)) => Err(ApiError {
            // A connection of the same caller that closes frees a place at once.
            retry_after_secs: Some(5),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exceeded",
                error.to_string(),
            )
        }),
        Err(ConnectError::Store(error)) => Err(error.into()),
    }
}

/// The `token` query parameter of a connection request.
pub fn token_of_query(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
}
