//! Email continuation (R35): each account's email secret (`S#EMAIL#{acct}` / `SECRET`, a
//! partition of secrets), the grants reply tokens name (`E#{token}` / `GRANT`, TTL at the
//! grant's end) and the dropped inbound mail (`EMAIL#FAILED` / `{inverted time}#{key}`, TTL 90
//! days), each conversation's email thread (`EM#{acct}#{cid}` / `THREAD`, versioned) and the
//! suppressed addresses (`EMAIL#SUPPRESSED` / `{address}`). None of these partitions passes the
//! fan-out's stream filter (`A#`).

use super::*;
use domain::email::outbound::{normalized_address, EmailThread};
use domain::email::reply_token::ReplyGrant;
use serde::Deserialize;
use use_cases::ports::{EmailFailure, EmailStore};

const SECRET_SK: &str = "SECRET";
const GRANT_SK: &str = "GRANT";
const FAILURES_PK: &str = "EMAIL#FAILED";
/// How long a dropped mail stays listed (its raw copy's own lifetime is the bucket's).
const FAILURE_RETENTION_SECS: i64 = 90 * 24 * 3600;
/// Failures sort newest first: the sort key counts down from this.
const TIME_CEILING: i64 = 999_999_999_999_999;

#[derive(Serialize, Deserialize)]
struct StoredSecret {
    secret: String,
}

impl StoredSecret {
    fn bytes(self) -> Result<Vec<u8>, StoreError> {
        hex::decode(self.secret).map_err(|_| StoreError::Internal("email secret is not hex".into()))
    }
}

fn secret_key(account_id: &str) -> (String, String) {
    (format!("S#EMAIL#{account_id}"), SECRET_SK.into())
}

#[async_trait]
impl EmailStore for DynamoStore {
    async fn email_secret(&self, account_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (pk, sk) = secret_key(account_id);
        match self.get(pk, sk).await? {
            Some(item) => decode::<StoredSecret>(item)?.bytes().map(Some),
            None => Ok(None),
        }
    }

    async fn create_email_secret(
        &self,
        account_id: &str,
        candidate: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let (pk, sk) = secret_key(account_id);
        let fresh = StoredSecret {
            secret: hex::encode(candidate),
        };
        match self
            .put(encode(&fresh, pk, sk)?, Some("attribute_not_exists(pk)"))
            .await
        {
            Ok(()) => Ok(candidate.to_vec()),
            Err(StoreError::Conflict) => self
                .email_secret(account_id)
                .await?
                .ok_or_else(|| StoreError::Internal("email secret vanished".into())),
            Err(other) => Err(other),
        }
    }

    async fn put_reply_grant(&self, grant: &ReplyGrant) -> Result<(), StoreError> {
        let mut item = encode(grant, format!("E#{}", grant.token_id), GRANT_SK.into())?;
        item.insert(TTL_ATTRIBUTE.into(), n(grant.valid_until / 1000 + 1));
        self.put(item, None).await
    }

    async fn reply_grant(&self, token_id: &str) -> Result<Option<ReplyGrant>, StoreError> {
        self.get(format!("E#{token_id}"), GRANT_SK.into())
            .await?
            .map(decode)
            .transpose()
    }

    async fn record_email_failure(&self, failure: &EmailFailure) -> Result<(), StoreError> {
        let sk = format!(
            "{:015}#{}",
            TIME_CEILING - failure.failed_at,
            failure.object_key
        );
        let mut item = encode(failure, FAILURES_PK.into(), sk)?;
        item.insert(
            TTL_ATTRIBUTE.into(),
            n(failure.failed_at / 1000 + FAILURE_RETENTION_SECS),
        );
        self.put(item, None).await
    }

    async fn email_failures(&self, limit: usize) -> Result<Vec<EmailFailure>, StoreError> {
        let items = self
            .query_range(FAILURES_PK.into(), "0".into(), "~", limit)
            .await?;
        decode_all(items)
    }

    async fn email_thread(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<EmailThread, StoreError> {
        match self
            .get(thread_pk(account_id, conversation_id), THREAD_SK.into())
            .await?
        {
            Some(item) => decode(item),
            None => Ok(EmailThread {
                account_id: account_id.into(),
                conversation_id: conversation_id.into(),
                ..EmailThread::default()
            }),
        }
    }

    async fn put_email_thread(&self, thread: &EmailThread) -> Result<(), StoreError> {
        let previous = thread.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let item = encode(
            thread,
            thread_pk(&thread.account_id, &thread.conversation_id),
            THREAD_SK.into(),
        )?;
        self.put_versioned(item, previous).await
    }

    async fn suppress_address(
        &self,
        address: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let entry = Suppressed {
            reason: reason.into(),
            at,
        };
        self.put(
            encode(&entry, SUPPRESSED_PK.into(), normalized_address(address))?,
            None,
        )
        .await
    }

    async fn is_suppressed(&self, address: &str) -> Result<bool, StoreError> {
        Ok(self
            .get(SUPPRESSED_PK.into(), normalized_address(address))
            .await?
            .is_some())
    }
}

const THREAD_SK: &str = "THREAD";
const SUPPRESSED_PK: &str = "EMAIL#SUPPRESSED";

fn thread_pk(account_id: &str, conversation_id: &str) -> String {
    format!("EM#{account_id}#{conversation_id}")
}

#[derive(Serialize, Deserialize)]
struct Suppressed {
    reason: String,
    at: i64,
}
