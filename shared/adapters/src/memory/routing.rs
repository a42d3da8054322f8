//! Routing: agents and their capacity, the waiting list, offers (R23-R25).

use super::*;

#[async_trait]
impl RoutingStore for MemoryStore {
    async fn get_agent(
        &self,
        account_id: &str,
        agent_id: &str,
    ) -> Result<Option<Agent>, StoreError> {
        Ok(self.lock()?.agents.get(&key(account_id, agent_id)).cloned())
    }

    async fn list_agents(&self, account_id: &str) -> Result<Vec<Agent>, StoreError> {
        Ok(self
            .lock()?
            .agents
            .values()
            .filter(|a| a.account_id == account_id)
            .cloned()
            .collect())
    }

    async fn update_agent_profile(
        &self,
        account_id: &str,
        agent_id: &str,
        change: &AgentProfileChange,
        now: i64,
    ) -> Result<Agent, StoreError> {
        let mut tables = self.lock()?;
        let agent = tables
            .agents
            .entry(key(account_id, agent_id))
            .or_insert_with(|| Agent::new(account_id, agent_id, now));
        if let Some(status) = change.status {
            agent.status = status;
        }
        if let Some((messaging, email)) = change.capacity {
            agent.cap_messaging = messaging;
            agent.cap_email = email;
        }
        if let Some(groups) = &change.groups {
            agent.groups = groups.clone();
        }
        agent.updated_at = now;
        Ok(agent.clone())
    }

    async fn list_waiting_page(
        &self,
        account_id: &str,
        groups: Option<&[String]>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreError> {
        let in_view = |entry: &WaitingEntry| match (groups, &entry.group) {
            (None, _) | (Some(_), None) => true,
            (Some(groups), Some(group)) => groups.contains(group),
        };
        Ok(self
            .lock()?
            .waiting
            .range((account_id.to_string(), String::new())..)
            .take_while(|((account, _), _)| account == account_id)
            .filter(|((_, sort_key), entry)| {
                after.is_none_or(|after| sort_key.as_str() > after) && in_view(entry)
            })
            .take(limit)
            .map(|(_, entry)| entry.clone())
            .collect())
    }

    async fn move_waiting(
        &self,
        conversation: &Conversation,
        from: &WaitingEntry,
        to: &WaitingEntry,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables.check_revision(conversation)?;
        tables.replace_conversation(conversation);
        tables.waiting.remove(&Tables::waiting_key(from));
        tables.waiting.insert(Tables::waiting_key(to), to.clone());
        Ok(())
    }

    async fn put_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError> {
        self.lock()?
            .waiting
            .insert(Tables::waiting_key(entry), entry.clone());
        Ok(())
    }

    async fn remove_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError> {
        self.lock()?.waiting.remove(&Tables::waiting_key(entry));
        Ok(())
    }

    async fn list_offers(
        &self,
        account_id: &str,
        agent_id: &str,
    ) -> Result<Vec<Offer>, StoreError> {
        Ok(self
            .lock()?
            .offers
            .values()
            .filter(|o| o.account_id == account_id && o.agent_id == agent_id)
            .cloned()
            .collect())
    }

    async fn make_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables.check_revision(conversation)?;
        let agent = tables
            .agents
            .get_mut(&key(&offer.account_id, &offer.agent_id))
            .ok_or(StoreError::Conflict)?;
        if agent.status != AgentStatus::Online || agent.spare(offer.channel) == 0 {
            return Err(StoreError::Conflict);
        }
        *agent.load_mut(offer.channel) += 1;
        agent.last_offered_at = offer.offered_at;
        tables.replace_conversation(conversation);
        tables
            .offers
            .insert(Tables::offer_key(offer), offer.clone());
        tables.waiting.remove(&Tables::waiting_key(waiting));
        Ok(())
    }

    async fn accept_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables.check_revision(conversation)?;
        tables.replace_conversation(conversation);
        tables.offers.remove(&Tables::offer_key(offer));
        Ok(())
    }

    async fn withdraw_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables.check_revision(conversation)?;
        let agent = tables
            .agents
            .get_mut(&key(&offer.account_id, &offer.agent_id))
            .ok_or(StoreError::Conflict)?;
        let load = agent.load_mut(offer.channel);
        *load = load.checked_sub(1).ok_or(StoreError::Conflict)?;
        tables.replace_conversation(conversation);
        tables.offers.remove(&Tables::offer_key(offer));
        tables
            .waiting
            .insert(Tables::waiting_key(waiting), waiting.clone());
        Ok(())
    }
}
