//! Session steps (R20-R22): one transaction for the conversation, notice, CSAT request and capacity.

use super::*;

pub(super) fn csat_key(request: &CsatRequest) -> (String, String) {
    session_csat_key(
        &request.account_id,
        &request.conversation_id,
        request.session_no,
    )
}

fn session_csat_key(account_id: &str, conversation_id: &str, session_no: u32) -> (String, String) {
    (
        format!("A#{account_id}#CSAT"),
        format!("C#{conversation_id}#S{session_no:06}"),
    )
}

/// Ratings by the time they were given, for reports: `A#{acct}#CSATR` /
/// `{rated_at:015}#{cid}#S{session:06}`.
pub(super) fn rating_key(rated: &CsatRequest, rated_at: i64) -> (String, String) {
    (
        format!("A#{}#CSATR", rated.account_id),
        format!(
            "{rated_at:015}#{}#S{:06}",
            rated.conversation_id, rated.session_no
        ),
    )
}

impl DynamoStore {
    /// The agent's load leaves `release.from` (conditioned on being there) and, when
    /// `release.to` is given, arrives there (conditioned on spare capacity).
    pub(super) fn capacity_update(
        &self,
        account_id: &str,
        release: &CapacityRelease,
    ) -> Result<TransactWriteItem, StoreError> {
        match release.to {
            Some(to) if to == release.from => Err(StoreError::Internal(
                "capacity moved onto its own channel".into(),
            )),
            Some(to) => self.agent_update(
                account_id,
                &release.agent_id,
                "SET #l = #l - :one, #t = #t + :one",
                "#l > :zero AND #t < #c",
                &[
                    ("#l", load_attribute(release.from)),
                    ("#t", load_attribute(to)),
                    ("#c", capacity_attribute(to)),
                ],
                vec![(":one", n(1)), (":zero", n(0))],
            ),
            None => self.agent_update(
                account_id,
                &release.agent_id,
                "SET #l = #l - :one",
                "#l > :zero",
                &[("#l", load_attribute(release.from))],
                vec![(":one", n(1)), (":zero", n(0))],
            ),
        }
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn commit_session_change(
        &self,
        change: &SessionChange,
    ) -> Result<Option<Message>, StoreError> {
        let conversation = &change.conversation;
        let only_the_conversation = change.notice.is_none()
            && change.csat.is_none()
            && change.capacity.is_none()
            && change.withdrawn_offer.is_none()
            && change.left_waiting.is_none();
        if only_the_conversation {
            // A conditional put does it for half the write units of a transaction.
            return self.update_conversation(conversation).await.map(|()| None);
        }
        let account_id = &conversation.account_id;
        let mut notice = change.notice.clone();
        if let Some(notice) = notice.as_mut() {
            notice.seq = self.last_seq(account_id, &conversation.id).await? + 1;
        }
        for attempt in 0..MAX_APPEND_ATTEMPTS {
            // Order matters: item 0 is the conversation, items 1 and 2 the notice's
            // idempotency record and message slot.
            let mut items = vec![self.conversation_replace(conversation)?];
            if let Some(notice) = &notice {
                let (idempotency, message) = self.message_items(notice)?;
                let put = |item: Item| self.transact_put(item, "attribute_not_exists(pk)", None);
                items.push(put(idempotency)?);
                items.push(put(message)?);
            }
            if let Some(csat) = &change.csat {
                let (pk, sk) = csat_key(csat);
                items.push(self.transact_put(
                    encode(csat, pk, sk)?,
                    "attribute_not_exists(pk)",
                    None,
                )?);
            }
            if let Some(release) = &change.capacity {
                items.push(self.capacity_update(account_id, release)?);
            }
            if let Some(offer) = &change.withdrawn_offer {
                items.push(self.plain_delete(offer_key(offer))?);
            }
            if let Some(entry) = &change.left_waiting {
                items.push(self.plain_delete(waiting_key(entry))?);
            }
            match self.transact_items(items).await? {
                Transacted::Done => return Ok(notice),
                // Only the notice's slot was taken (a message arrived meanwhile): next slot.
                Transacted::Cancelled(failed)
                    if notice.is_some()
                        && failed.iter().enumerate().all(|(i, f)| *f == (i == 2)) =>
                {
                    if let Some(notice) = notice.as_mut() {
                        notice.seq = self.last_seq(account_id, &conversation.id).await? + 1;
                    }
                }
                Transacted::Cancelled(_) => return Err(StoreError::Conflict),
                Transacted::Contended => {
                    tokio::time::sleep(jittered_backoff(attempt)).await;
                }
            }
        }
        Err(StoreError::Unavailable("session change contention".into()))
    }

    async fn list_csat_requests(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<CsatRequest>, StoreError> {
        decode_all(
            self.query_range(format!("A#{account_id}#CSAT"), "C#".into(), "C#~", limit)
                .await?,
        )
    }

    async fn get_csat_request(
        &self,
        account_id: &str,
        conversation_id: &str,
        session_no: u32,
    ) -> Result<Option<CsatRequest>, StoreError> {
        let (pk, sk) = session_csat_key(account_id, conversation_id, session_no);
        self.get(pk, sk).await?.map(decode).transpose()
    }

    async fn latest_csat_request(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Option<CsatRequest>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(format!("A#{account_id}#CSAT")))
            .expression_attribute_values(":prefix", s(format!("C#{conversation_id}#S")))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(1)
            .send()
            .await
            .map_err(store_error)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(decode)
            .transpose()
    }

    async fn record_csat_rating(&self, rated: &CsatRequest) -> Result<(), StoreError> {
        let rated_at = rated
            .rated_at
            .ok_or_else(|| StoreError::Internal("a rating without its time".into()))?;
        let (pk, sk) = csat_key(rated);
        let (rating_pk, rating_sk) = rating_key(rated, rated_at);
        let items = vec![
            self.transact_put(
                encode(rated, pk, sk)?,
                "attribute_exists(pk) AND attribute_not_exists(score)",
                None,
            )?,
            self.transact_put(
                encode(rated, rating_pk, rating_sk)?,
                "attribute_not_exists(pk)",
                None,
            )?,
        ];
        for attempt in 0..MAX_APPEND_ATTEMPTS {
            match self.transact_items(items.clone()).await? {
                Transacted::Done => return Ok(()),
                Transacted::Cancelled(_) => return Err(StoreError::Conflict),
                Transacted::Contended => tokio::time::sleep(jittered_backoff(attempt)).await,
            }
        }
        Err(StoreError::Unavailable("rating contention".into()))
    }

    async fn erase_csat_end_user(
        &self,
        account_id: &str,
        conversation_id: &str,
        erased_as: &str,
    ) -> Result<usize, StoreError> {
        let requests: Vec<CsatRequest> = decode_all(
            self.query_range(
                format!("A#{account_id}#CSAT"),
                format!("C#{conversation_id}#S"),
                &format!("C#{conversation_id}#S~"),
                MAX_CSAT_SESSIONS,
            )
            .await?,
        )?;
        let mut erased = 0;
        for request in &requests {
            let Some(clean) = request.without_end_user(erased_as) else {
                continue;
            };
            // The rating item first: a crash between the two leaves the request to redo.
            if let Some(rated_at) = clean.rated_at {
                let (pk, sk) = rating_key(&clean, rated_at);
                match self
                    .put(encode(&clean, pk, sk)?, Some("attribute_exists(pk)"))
                    .await
                {
                    // Retention took it already: nothing of the person is left there.
                    Ok(()) | Err(StoreError::Conflict) => {}
                    Err(error) => return Err(error),
                }
            }
            let (pk, sk) = csat_key(&clean);
            match self
                .put(encode(&clean, pk, sk)?, Some("attribute_exists(pk)"))
                .await
            {
                Ok(()) => erased += 1,
                Err(StoreError::Conflict) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(erased)
    }

    async fn list_csat_ratings(
        &self,
        account_id: &str,
        (from_ms, to_ms): (i64, i64),
        limit: usize,
    ) -> Result<Vec<CsatRequest>, StoreError> {
        let (from_ms, to_ms) = (from_ms.max(0), to_ms.clamp(0, MAX_KEYED_TIME));
        decode_all(
            self.query_range(
                format!("A#{account_id}#CSATR"),
                format!("{from_ms:015}"),
                &format!("{to_ms:015}~"),
                limit,
            )
            .await?,
        )
    }
}

/// Sessions of one conversation whose CSAT an erasure reaches (one request per session).
const MAX_CSAT_SESSIONS: usize = 10_000;

/// The largest time a 15-digit key holds.
const MAX_KEYED_TIME: i64 = 999_999_999_999_999;
