//! Routing: agents and their capacity, the waiting list, offers (R23-R25).

use super::*;

pub(super) fn agent_sk(agent_id: &str) -> String {
    format!("AGENT#{agent_id}")
}

pub(super) fn offer_key(offer: &Offer) -> (String, String) {
    (
        account_pk(&offer.account_id),
        format!("OFFER#{}#{}", offer.agent_id, offer.conversation_id),
    )
}

pub(super) fn waiting_key(entry: &WaitingEntry) -> (String, String) {
    (format!("A#{}#WAIT", entry.account_id), entry.sort_key())
}

/// The waiting entry's item, with its group index keys.
pub(super) fn waiting_item(entry: &WaitingEntry) -> Result<Item, StoreError> {
    let (pk, sk) = waiting_key(entry);
    let mut item = encode(entry, pk, sk.clone())?;
    item.insert(
        "gsi5pk".into(),
        s(waiting_group_partition(
            &entry.account_id,
            entry.group.as_deref(),
        )),
    );
    item.insert("gsi5sk".into(), s(sk));
    Ok(item)
}

fn waiting_group_partition(account_id: &str, group: Option<&str>) -> String {
    format!("A#{account_id}#WG#{}", group.unwrap_or_default())
}

pub(super) fn load_attribute(channel: CapacityChannel) -> &'static str {
    match channel {
        CapacityChannel::Messaging => "load_messaging",
        CapacityChannel::Email => "load_email",
    }
}

pub(super) fn capacity_attribute(channel: CapacityChannel) -> &'static str {
    match channel {
        CapacityChannel::Messaging => "cap_messaging",
        CapacityChannel::Email => "cap_email",
    }
}

#[async_trait]
impl RoutingStore for DynamoStore {
    async fn get_agent(
        &self,
        account_id: &str,
        agent_id: &str,
    ) -> Result<Option<Agent>, StoreError> {
        self.get(account_pk(account_id), agent_sk(agent_id))
            .await?
            .map(decode)
            .transpose()
    }

    async fn list_agents(&self, account_id: &str) -> Result<Vec<Agent>, StoreError> {
        // Agent ids are token subjects (`A-Za-z0-9-_.@:`), all below `~`.
        decode_all(
            self.query_range(account_pk(account_id), agent_sk(""), "AGENT#~", usize::MAX)
                .await?,
        )
    }

    async fn update_agent_profile(
        &self,
        account_id: &str,
        agent_id: &str,
        change: &AgentProfileChange,
        now: i64,
    ) -> Result<Agent, StoreError> {
        let mut sets = vec![
            "account_id = :account".to_string(),
            "id = :id".to_string(),
            "updated_at = :now".to_string(),
            "load_messaging = if_not_exists(load_messaging, :zero)".to_string(),
            "load_email = if_not_exists(load_email, :zero)".to_string(),
            "last_offered_at = if_not_exists(last_offered_at, :zero)".to_string(),
        ];
        let mut values: Vec<(&str, AttributeValue)> = vec![
            (":account", s(account_id)),
            (":id", s(agent_id)),
            (":now", n(now)),
            (":zero", n(0)),
        ];
        match change.status {
            Some(status) => {
                sets.push("#st = :status".into());
                values.push((":status", s(json_str(&status)?)));
            }
            None => {
                sets.push("#st = if_not_exists(#st, :offline)".into());
                values.push((":offline", s("offline")));
            }
        }
        match change.capacity {
            Some((messaging, email)) => {
                sets.push("cap_messaging = :cm, cap_email = :ce".into());
                values.push((":cm", n(messaging)));
                values.push((":ce", n(email)));
            }
            None => sets.push(
                "cap_messaging = if_not_exists(cap_messaging, :zero), cap_email = if_not_exists(cap_email, :zero)".into(),
            ),
        }
        match &change.groups {
            Some(groups) => {
                sets.push("#groups = :groups".into());
                values.push((
                    ":groups",
                    AttributeValue::L(groups.iter().map(|g| s(g.as_str())).collect()),
                ));
            }
            None => {
                sets.push("#groups = if_not_exists(#groups, :none)".into());
                values.push((":none", AttributeValue::L(Vec::new())));
            }
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(account_pk(account_id)))
            .key(SORT_KEY, s(agent_sk(agent_id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#groups", "groups")
            .return_values(ReturnValue::AllNew);
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        let output = update.send().await.map_err(store_error)?;
        decode(output.attributes.unwrap_or_default())
    }

    async fn put_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError> {
        self.put(waiting_item(entry)?, None).await
    }

    async fn list_waiting_page(
        &self,
        account_id: &str,
        groups: Option<&[String]>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreError> {
        let Some(groups) = groups else {
            // Every group: the routing list itself, read consistently.
            let from = after.map_or_else(|| "0".to_string(), |after| format!("{after}\u{0}"));
            return decode_all(
                self.query_range(format!("A#{account_id}#WAIT"), from, "~", limit)
                    .await?,
            );
        };
        // The caller's groups and the ungrouped: one partition each, merged in routing order.
        let partitions = groups
            .iter()
            .map(|g| Some(g.as_str()))
            .chain(std::iter::once(None));
        let pages = futures::future::try_join_all(partitions.map(|group| {
            self.query_index_after(
                WAITING_GROUP_INDEX,
                waiting_group_partition(account_id, group),
                after,
                true,
                limit,
            )
        }))
        .await?;
        let mut entries: Vec<WaitingEntry> = decode_all(pages.into_iter().flatten().collect())?;
        entries.sort_by_key(WaitingEntry::sort_key);
        entries.dedup();
        entries.truncate(limit);
        Ok(entries)
    }

    async fn move_waiting(
        &self,
        conversation: &Conversation,
        from: &WaitingEntry,
        to: &WaitingEntry,
    ) -> Result<(), StoreError> {
        let mut items = vec![self.conversation_replace(conversation)?];
        if waiting_key(from) != waiting_key(to) {
            items.push(self.plain_delete(waiting_key(from))?);
        }
        items.push(self.plain_put(waiting_item(to)?)?);
        self.transact(items).await
    }

    async fn remove_waiting(&self, entry: &WaitingEntry) -> Result<(), StoreError> {
        self.delete(waiting_key(entry)).await
    }

    async fn list_offers(
        &self,
        account_id: &str,
        agent_id: &str,
    ) -> Result<Vec<Offer>, StoreError> {
        decode_all(
            self.query_range(
                account_pk(account_id),
                format!("OFFER#{agent_id}#"),
                &format!("OFFER#{agent_id}#~"),
                usize::MAX,
            )
            .await?,
        )
    }

    async fn make_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError> {
        let (offer_pk, offer_sk) = offer_key(offer);
        self.transact(vec![
            self.agent_update(
                &offer.account_id,
                &offer.agent_id,
                "SET #l = #l + :one, last_offered_at = :at",
                "#st = :online AND #l < #c",
                &[
                    ("#l", load_attribute(offer.channel)),
                    ("#c", capacity_attribute(offer.channel)),
                    ("#st", "status"),
                ],
                vec![
                    (":one", n(1)),
                    (":at", n(offer.offered_at)),
                    (":online", s("online")),
                ],
            )?,
            self.conversation_replace(conversation)?,
            self.plain_put(encode(offer, offer_pk, offer_sk)?)?,
            self.plain_delete(waiting_key(waiting))?,
        ])
        .await
    }

    async fn accept_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
    ) -> Result<(), StoreError> {
        self.transact(vec![
            self.conversation_replace(conversation)?,
            self.plain_delete(offer_key(offer))?,
        ])
        .await
    }

    async fn withdraw_offer(
        &self,
        conversation: &Conversation,
        offer: &Offer,
        waiting: &WaitingEntry,
    ) -> Result<(), StoreError> {
        self.transact(vec![
            self.conversation_replace(conversation)?,
            self.capacity_update(
                &offer.account_id,
                &CapacityRelease {
                    agent_id: offer.agent_id.clone(),
                    from: offer.channel,
                    to: None,
                },
            )?,
            self.plain_delete(offer_key(offer))?,
            self.plain_put(waiting_item(waiting)?)?,
        ])
        .await
    }
}
