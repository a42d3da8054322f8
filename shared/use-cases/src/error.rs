//! The ports' error (a storage or queue adapter failed), beside the domain's. The mapping to
//! HTTP lives in `api` only.

use thiserror::Error;

pub use domain::error::DomainError;

/// A storage or queue adapter failed. Details are logged, never shown to clients.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A conditional write lost against a concurrent writer; the caller may re-read and retry.
    #[error("concurrent modification")]
    Conflict,
    /// The item to create exists already.
    #[error("item already exists")]
    AlreadyExists,
    /// The backend is throttling or unreachable; retrying later may succeed.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// What AWS would refuse as too large (R32: an item over 400 KB, a transaction over its
    /// limits); nothing was written.
    #[error("too large for the store: {0}")]
    TooLarge(String),
    /// The service refused this request for good (an email SES will not send: a rejected
    /// message, a sandbox recipient); retrying cannot help.
    #[error("refused by the service: {0}")]
    Refused(String),
    /// Anything else: a bug or a corrupt item.
    #[error("backend failure: {0}")]
    Internal(String),
}
