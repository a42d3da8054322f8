//! Pushing frames to WebSocket connections: delivered in order to an open one, `Gone` for one
//! the service no longer has (the fan-out then forgets it).

use super::*;
use crate::ports::{Push, PushOutcome};

/// A push adapter, a connection it can reach and one it cannot.
pub struct PushUnderTest {
    pub push: Arc<dyn Push>,
    pub open: String,
    /// What reached `open` so far, when the service lets a test see it.
    pub received: Option<Arc<dyn Fn() -> Vec<String> + Send + Sync>>,
    pub gone: String,
}

pub async fn frames_pushed_to_an_open_connection_are_delivered_in_order(under_test: PushUnderTest) {
    for frame in ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"] {
        assert_eq!(
            under_test.push.push(&under_test.open, frame).await.unwrap(),
            PushOutcome::Delivered
        );
    }
    if let Some(received) = &under_test.received {
        assert_eq!(received(), vec!["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"]);
    }
}

pub async fn a_push_to_a_connection_the_service_no_longer_has_is_gone(under_test: PushUnderTest) {
    assert_eq!(
        under_test.push.push(&under_test.gone, "{}").await.unwrap(),
        PushOutcome::Gone
    );
}

pub async fn closing_an_open_or_gone_connection_succeeds(under_test: PushUnderTest) {
    under_test.push.close(&under_test.open).await.unwrap();
    under_test.push.close(&under_test.gone).await.unwrap();
}
