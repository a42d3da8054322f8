//! Retention (`messaging.retention_days`): a conversation at rest is deleted, with its messages,
//! files, history and ratings, that many days after its last activity.
//!
//! The table's TTL does the deleting: the conversation item carries `expires_at` while it is at
//! rest, and the change stream's record of its removal starts the purge of everything else
//! (`use_cases::conversation_expiry`). A conversation that holds anything (a running session,
//! an agent's capacity, an offer, a place in the waiting list) never carries an expiry, so a
//! deletion can never strand an agent's load or a routing entry.

use crate::model::{Conversation, SessionState};
use crate::realtime::{Stored, StoredChange};

const SECONDS_PER_DAY: i64 = 86_400;

/// Whether nothing runs in it: no active session (so it is not waiting for an agent either:
/// ending a session takes it off the waiting list), no capacity held, no offer standing.
pub fn is_at_rest(conversation: &Conversation) -> bool {
    conversation.session == SessionState::Ended
        && conversation.held_capacity.is_none()
        && conversation.offer.is_none()
}

/// Items deleted from a conversation purge by one call, and whether nothing is left of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub deleted: usize,
    pub done: bool,
}

/// Items a purge deletes in one invocation at most: a conversation larger than this is
/// finished by follow-up jobs (#32 item 4), each well inside the fan-out's 30 s.
pub const PURGE_SLICE: usize = 5_000;

/// The expiry a write of `conversation` may store (#32 item 5): its `expires_at` while it is
/// at rest, none once anything runs in it. Every write of a conversation item stores this, so
/// the write that brings a conversation back to life takes its expiry away in that same
/// conditional write, and the table's TTL can never delete a running conversation.
pub fn stored_expiry(conversation: &Conversation) -> Option<i64> {
    conversation.expires_at.filter(|_| is_at_rest(conversation))
}

/// The `expires_at` (epoch seconds) the conversation should carry under a retention of
/// `retention_days`: its last activity plus the period while at rest, none otherwise.
pub fn expiry(conversation: &Conversation, retention_days: Option<u32>) -> Option<i64> {
    let days = retention_days?;
    is_at_rest(conversation)
        .then(|| conversation.activity_at() / 1000 + i64::from(days) * SECONDS_PER_DAY)
}

/// The conversation a change reports deleted by its expiry (the TTL's removal): its item is
/// gone and it carried an `expires_at` that had passed at `now` (epoch ms). Conversations are
/// never deleted otherwise.
pub fn expired_removal(change: &StoredChange, now: i64) -> Option<&Conversation> {
    match (&change.before, &change.after) {
        (Some(Stored::Conversation(before)), None)
            if before.expires_at.is_some_and(|at| at <= now / 1000) && is_at_rest(before) =>
        {
            Some(before)
        }
        _ => None,
    }
}

/// The conversation whose expiry may need setting again after this change: a conversation
/// still stored that is at rest or carries an expiry (one that runs and has none needs nothing,
/// so most changes cost no settings read).
pub fn expiry_to_review(change: &StoredChange) -> Option<&Conversation> {
    match &change.after {
        Some(Stored::Conversation(after)) if is_at_rest(after) || after.expires_at.is_some() => {
            Some(after)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::new_conversation;
    use crate::settings::Settings;

    fn ended(activity_ms: i64) -> Conversation {
        let mut c = new_conversation("acct", "u1", &Settings::default(), activity_ms);
        c.session = SessionState::Ended;
        c
    }

    #[test]
    fn an_ended_conversation_expires_its_period_after_its_last_activity() {
        let mut c = ended(1_000_000);
        c.last_message_at = Some(5_000_000);
        assert_eq!(expiry(&c, Some(30)), Some(5_000 + 30 * 86_400));
        assert_eq!(expiry(&c, None), None);
    }

    #[test]
    fn a_conversation_that_holds_anything_never_expires() {
        let running = new_conversation("acct", "u1", &Settings::default(), 0);
        assert_eq!(expiry(&running, Some(1)), None);
        let mut offered = ended(0);
        offered.offer = Some(crate::model::Offer {
            account_id: "acct".into(),
            conversation_id: offered.id.clone(),
            channel: crate::model::CapacityChannel::Messaging,
            agent_id: "ag-1".into(),
            offer_id: "o1".into(),
            offered_at: 0,
            expires_at: 30_000,
        });
        assert_eq!(expiry(&offered, Some(1)), None);
        let mut holding = ended(0);
        holding.held_capacity = Some(crate::model::CapacityChannel::Email);
        assert_eq!(expiry(&holding, Some(1)), None);
    }

    #[test]
    fn only_a_removal_past_its_expiry_is_an_expiry() {
        let mut c = ended(0);
        c.expires_at = Some(100);
        let removal = StoredChange {
            before: Some(Stored::Conversation(Box::new(c.clone()))),
            after: None,
        };
        assert!(expired_removal(&removal, 100_000).is_some());
        assert!(expired_removal(&removal, 99_000).is_none());
        c.expires_at = None;
        let unexpiring = StoredChange {
            before: Some(Stored::Conversation(Box::new(c))),
            after: None,
        };
        assert!(expired_removal(&unexpiring, 100_000).is_none());
    }
}
