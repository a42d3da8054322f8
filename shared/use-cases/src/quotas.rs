//! Charging a caller's quotas (R33): an end user or visitor starts at most 20 conversations an
//! hour and uploads at most 100 files or 500 MB a day. Staff and integrations are not
//! charged (they act for the account, whose own limits apply).

use thiserror::Error;

use crate::auth::Principal;
use crate::error::StoreError;
use crate::ports::AccountStore;
use domain::model::Role;
pub use domain::quotas::{Quota, CONVERSATIONS_PER_HOUR, UPLOADS_PER_DAY};

#[derive(Debug, Error)]
pub enum QuotaError {
    /// 429 `quota_exceeded`, with `Retry-After`.
    #[error("the {quota} quota of this caller is used up; retry in {retry_after_secs} s")]
    Exceeded {
        quota: &'static str,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Charges `amounts` (one per counter of `quota`) to `principal` when it is an end user.
pub async fn charge(
    accounts: &dyn AccountStore,
    principal: &Principal,
    quota: &Quota,
    amounts: &[u64],
    now_ms: i64,
) -> Result<(), QuotaError> {
    if principal.role != Role::EndUser {
        return Ok(());
    }
    let (charge, retry_after_secs) =
        quota.charge(&principal.account_id, &principal.user_id, amounts, now_ms);
    if quota.exceeded_alone(amounts) || !accounts.charge_quota(&charge).await? {
        tracing::warn!(
            account_id = %principal.account_id,
            user_id = %principal.user_id,
            quota = quota.name,
            "caller quota used up"
        );
        return Err(QuotaError::Exceeded {
            quota: quota.name,
            retry_after_secs,
        });
    }
    Ok(())
}
