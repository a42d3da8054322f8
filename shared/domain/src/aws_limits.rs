//! AWS's documented limits, as the product's own (R32): what SQS, API Gateway's WebSocket API
//! and DynamoDB refuse, refused here too, by every adapter (the emulator and the in-memory
//! ones included), so that a test sees what AWS would refuse.
//!
//! - SQS: a message body of at most 256 KiB, of the characters `#x9 | #xA | #xD | #x20-#xD7FF
//!   | #xE000-#xFFFD | #x10000-#x10FFFF` (SQS developer guide, "Amazon SQS message quotas").
//! - API Gateway WebSocket: a message of at most 128 KB (API Gateway quotas for WebSocket APIs).
//! - DynamoDB: an item of at most 400 KB, attribute names included; a transaction of at most
//!   100 actions and 4 MB (DynamoDB developer guide, "Service, account, and table quotas";
//!   item sizes as "Item sizes and formats" counts them: `adapters::dynamo::limits`).

use std::borrow::Cow;

pub const SQS_MAX_BODY_BYTES: usize = 256 * 1024;
pub const WEBSOCKET_MAX_MESSAGE_BYTES: usize = 128 * 1024;
pub const DYNAMODB_MAX_ITEM_BYTES: usize = 400 * 1024;
pub const DYNAMODB_MAX_TRANSACTION_ACTIONS: usize = 100;
pub const DYNAMODB_MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// What an AWS service would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("SQS refuses a body with the character U+{0:04X}")]
    SqsCharacter(u32),
    #[error("SQS refuses a body of {0} bytes (at most {SQS_MAX_BODY_BYTES})")]
    SqsBodyTooLarge(usize),
    #[error("API Gateway refuses a WebSocket message of {0} bytes (at most {WEBSOCKET_MAX_MESSAGE_BYTES})")]
    FrameTooLarge(usize),
    #[error("DynamoDB refuses an item of {0} bytes (at most {DYNAMODB_MAX_ITEM_BYTES})")]
    ItemTooLarge(usize),
    #[error("DynamoDB refuses a transaction of {actions} actions and {bytes} bytes (at most {DYNAMODB_MAX_TRANSACTION_ACTIONS} and {DYNAMODB_MAX_TRANSACTION_BYTES})")]
    TransactionTooLarge { actions: usize, bytes: usize },
}

/// Whether SQS carries `c` in a message body.
pub fn sqs_carries(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Checks a body as SQS would.
pub fn check_sqs_body(body: &str) -> Result<(), LimitError> {
    if let Some(c) = body.chars().find(|c| !sqs_carries(*c)) {
        return Err(LimitError::SqsCharacter(u32::from(c)));
    }
    if body.len() > SQS_MAX_BODY_BYTES {
        return Err(LimitError::SqsBodyTooLarge(body.len()));
    }
    Ok(())
}

/// A JSON body made safe for SQS, then checked: every queue body is JSON written by
/// `serde_json`, which already escapes control characters, so what is left that SQS cannot
/// carry (U+FFFE, U+FFFF) can only sit inside JSON strings, where its `\uXXXX` escape means
/// the same. Chosen over refusing such text at ingest (#32 item 3): an end user's text is
/// stored as written, and no queue (webhooks, routing, purges) can be stalled by it.
pub fn sqs_json_body(body: &str) -> Result<Cow<'_, str>, LimitError> {
    let body = if body.chars().all(sqs_carries) {
        Cow::Borrowed(body)
    } else {
        let mut escaped = String::with_capacity(body.len() + 12);
        for c in body.chars() {
            if sqs_carries(c) {
                escaped.push(c);
            } else {
                escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
        }
        Cow::Owned(escaped)
    };
    check_sqs_body(&body)?;
    Ok(body)
}

/// Checks a WebSocket frame as API Gateway would.
pub fn check_frame(frame: &str) -> Result<(), LimitError> {
    if frame.len() > WEBSOCKET_MAX_MESSAGE_BYTES {
        return Err(LimitError::FrameTooLarge(frame.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_characters_are_the_documented_set() {
        for refused in ['\u{0}', '\u{8}', '\u{b}', '\u{1f}', '\u{fffe}', '\u{ffff}'] {
            assert!(!sqs_carries(refused), "{:?}", refused);
            assert!(check_sqs_body(&format!("a{refused}b")).is_err());
        }
        for carried in [
            '\t', '\n', '\r', ' ', 'é', '\u{d7ff}', '\u{e000}', '\u{fffd}', '😀',
        ] {
            assert!(sqs_carries(carried), "{:?}", carried);
        }
        assert!(check_sqs_body(&"x".repeat(SQS_MAX_BODY_BYTES)).is_ok());
        assert_eq!(
            check_sqs_body(&"x".repeat(SQS_MAX_BODY_BYTES + 1)),
            Err(LimitError::SqsBodyTooLarge(SQS_MAX_BODY_BYTES + 1))
        );
    }

    #[test]
    fn a_json_body_with_noncharacters_is_escaped_to_the_same_json() {
        let value = serde_json::json!({"text": "odd \u{ffff} and \u{fffe} end", "n": 1});
        let body = serde_json::to_string(&value).unwrap();
        assert!(check_sqs_body(&body).is_err(), "serde_json leaves them raw");
        let safe = sqs_json_body(&body).unwrap();
        assert!(check_sqs_body(&safe).is_ok());
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
        // A body SQS carries is left as it is.
        assert!(matches!(sqs_json_body("{\"a\":1}"), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn frames_over_128_kb_are_refused() {
        assert!(check_frame(&"x".repeat(WEBSOCKET_MAX_MESSAGE_BYTES)).is_ok());
        assert!(check_frame(&"x".repeat(WEBSOCKET_MAX_MESSAGE_BYTES + 1)).is_err());
    }
}
