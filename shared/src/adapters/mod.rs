//! Adapters implementing the ports: DynamoDB and SQS for AWS, and in-memory twins for the local
//! gateway's default backend and fast tests. Both kinds pass `crate::contract`.

pub mod dynamo;
pub mod memory;
pub mod s3;
pub mod sqs;

/// A random backoff in `[1, cap_ms]` milliseconds, so contending writers spread out.
pub(crate) fn jittered_backoff(attempt: u32) -> std::time::Duration {
    let cap_ms = 2u64.saturating_pow(attempt.min(7)).clamp(2, 100);
    let mut byte = [0u8; 2];
    let noise = match getrandom::fill(&mut byte) {
        Ok(()) => u64::from(u16::from_le_bytes(byte)),
        Err(_) => cap_ms / 2,
    };
    std::time::Duration::from_millis(1 + noise % cap_ms)
}
