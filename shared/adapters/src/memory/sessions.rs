//! Session steps (R20-R22), applied to the tables under one lock: all or nothing.

use super::messages::idempotency_key;
use super::*;

#[async_trait]
impl SessionStore for MemoryStore {
    async fn commit_session_change(
        &self,
        change: &SessionChange,
    ) -> Result<Option<Message>, StoreError> {
        let mut tables = self.lock()?;
        let conversation = &change.conversation;
        tables.check_revision(conversation)?;
        let conversation_key = key(&conversation.account_id, &conversation.id);
        // Every condition is checked before anything is written.
        let notice = match &change.notice {
            Some(notice) => {
                let idem_key = idempotency_key(notice);
                if tables.idempotency.contains_key(&idem_key) {
                    return Err(StoreError::Conflict);
                }
                let last = tables
                    .messages
                    .get(&conversation_key)
                    .and_then(|m| m.keys().next_back().copied())
                    .unwrap_or(0);
                let mut stored = notice.clone();
                stored.seq = last + 1;
                Some((idem_key, stored))
            }
            None => None,
        };
        if let Some(csat) = &change.csat {
            if tables.csat.contains_key(&csat_key(csat)) {
                return Err(StoreError::Conflict);
            }
        }
        let agent = match &change.capacity {
            Some(release) => {
                let agent_key = key(&conversation.account_id, &release.agent_id);
                let mut agent = tables
                    .agents
                    .get(&agent_key)
                    .cloned()
                    .ok_or(StoreError::Conflict)?;
                let load = agent.load_mut(release.from);
                *load = load.checked_sub(1).ok_or(StoreError::Conflict)?;
                if let Some(to) = release.to {
                    if to == release.from {
                        return Err(StoreError::Internal(
                            "capacity moved onto its own channel".into(),
                        ));
                    }
                    if agent.spare(to) == 0 {
                        return Err(StoreError::Conflict);
                    }
                    *agent.load_mut(to) += 1;
                }
                Some((agent_key, agent))
            }
            None => None,
        };
        tables.replace_conversation(conversation);
        let stored_notice = notice.map(|(idem_key, stored)| {
            tables.idempotency.insert(idem_key, stored.seq);
            tables.insert_message(&stored);
            stored
        });
        if let Some(csat) = &change.csat {
            tables.csat.insert(csat_key(csat), csat.clone());
        }
        if let Some((agent_key, agent)) = agent {
            tables.agents.insert(agent_key, agent);
        }
        if let Some(offer) = &change.withdrawn_offer {
            tables.offers.remove(&Tables::offer_key(offer));
        }
        if let Some(entry) = &change.left_waiting {
            tables.waiting.remove(&Tables::waiting_key(entry));
        }
        Ok(stored_notice)
    }

    async fn list_csat_requests(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<CsatRequest>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .csat
            .range((account_id.to_string(), String::new(), 0)..)
            .take_while(|((account, _, _), _)| account == account_id)
            .take(limit)
            .map(|(_, request)| request.clone())
            .collect())
    }

    async fn get_csat_request(
        &self,
        account_id: &str,
        conversation_id: &str,
        session_no: u32,
    ) -> Result<Option<CsatRequest>, StoreError> {
        Ok(self
            .lock()?
            .csat
            .get(&(account_id.into(), conversation_id.into(), session_no))
            .cloned())
    }

    async fn latest_csat_request(
        &self,
        account_id: &str,
        conversation_id: &str,
    ) -> Result<Option<CsatRequest>, StoreError> {
        let tables = self.lock()?;
        let conversation = (account_id.to_string(), conversation_id.to_string());
        Ok(tables
            .csat
            .range((conversation.0.clone(), conversation.1.clone(), 0)..)
            .take_while(|((a, c, _), _)| (a, c) == (&conversation.0, &conversation.1))
            .last()
            .map(|(_, request)| request.clone()))
    }

    async fn record_csat_rating(&self, rated: &CsatRequest) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        match tables.csat.get_mut(&csat_key(rated)) {
            Some(stored) if stored.score.is_none() => {
                *stored = rated.clone();
                // The rating item's insert, as the stream reports it.
                tables.record_change(StoredChange {
                    before: None,
                    after: Some(Stored::Rating(Box::new(rated.clone()))),
                });
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn erase_csat_end_user(
        &self,
        account_id: &str,
        conversation_id: &str,
        erased_as: &str,
    ) -> Result<usize, StoreError> {
        let mut tables = self.lock()?;
        let mut erased = 0;
        for ((account, conversation, _), request) in tables.csat.iter_mut() {
            if (account.as_str(), conversation.as_str()) != (account_id, conversation_id) {
                continue;
            }
            if let Some(clean) = request.without_end_user(erased_as) {
                *request = clean;
                erased += 1;
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
        let tables = self.lock()?;
        let mut rated: Vec<CsatRequest> = tables
            .csat
            .values()
            .filter(|r| {
                r.account_id == account_id
                    && r.rated_at.is_some_and(|at| (from_ms..=to_ms).contains(&at))
            })
            .cloned()
            .collect();
        rated.sort_by_key(|r| (r.rated_at, r.conversation_id.clone(), r.session_no));
        rated.truncate(limit);
        Ok(rated)
    }
}

pub(super) fn csat_key(request: &CsatRequest) -> (String, String, u32) {
    (
        request.account_id.clone(),
        request.conversation_id.clone(),
        request.session_no,
    )
}
