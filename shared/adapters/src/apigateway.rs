//! Push over API Gateway's WebSocket management API: `PostToConnection` for a frame,
//! `DeleteConnection` to close. A connection API Gateway no longer has answers 410 `Gone`.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_apigatewaymanagement::error::ProvideErrorMetadata;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;

use crate::on_demand::OnDemand;
use use_cases::error::StoreError;
use use_cases::ports::{Push, PushOutcome};

/// The connections of one WebSocket API stage.
pub struct ApiGatewayPush {
    client: Arc<OnDemand<Client>>,
}

impl ApiGatewayPush {
    /// `endpoint` is the stage's management URL (`https://{api}.execute-api.{region}.
    /// amazonaws.com/{stage}`); an emulator endpoint in `sdk` takes its place.
    pub fn new(sdk: &SdkConfig, endpoint: &str) -> Self {
        let (sdk, endpoint) = (sdk.clone(), endpoint.to_string());
        Self {
            client: OnDemand::new(move || {
                let mut config = aws_sdk_apigatewaymanagement::config::Builder::from(&sdk);
                if sdk.endpoint_url().is_none() {
                    config = config.endpoint_url(&endpoint);
                }
                Client::from_conf(config.build())
            }),
        }
    }
}

#[async_trait]
impl Push for ApiGatewayPush {
    async fn push(&self, connection_id: &str, frame: &str) -> Result<PushOutcome, StoreError> {
        // Refused before the call, as API Gateway would (an emulator may not).
        domain::aws_limits::check_frame(frame).map_err(|e| StoreError::Internal(e.to_string()))?;
        match self
            .client
            .get()
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(frame.as_bytes()))
            .send()
            .await
        {
            Ok(_) => Ok(PushOutcome::Delivered),
            Err(error) if error.code() == Some("GoneException") => Ok(PushOutcome::Gone),
            Err(error) => Err(crate::sdk_error(error)),
        }
    }

    async fn close(&self, connection_id: &str) -> Result<(), StoreError> {
        match self
            .client
            .get()
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("GoneException") => Ok(()),
            Err(error) => Err(crate::sdk_error(error)),
        }
    }
}
