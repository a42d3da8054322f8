//! Pages of a conversation's messages as the caller may see them (end users never see
//! internal notes): forwards from a seq, or backwards from one (or from the end). Seqs are
//! gap-free (R13), so a page of seqs below `N` is read with the forward cursor.

use domain::ids::ConversationId;
use domain::messages::Earlier;
use domain::model::Message;
use domain::rules::visible_to;

use super::{visible, ConversationError};
use crate::auth::Principal;
use crate::ports::{ConversationStore, MessageStore};

/// A page the caller may see misses its hidden messages; it is refilled at most this often.
const MAX_PAGE_REFILLS: usize = 5;

/// Where a backwards page ends (`?before_seq=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// The conversation's end: a widget opens a conversation there and scrolls back.
    Latest,
    /// Below this seq.
    Seq(u64),
}

/// A page of messages, oldest first.
#[derive(Debug)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// Where the next page forwards starts.
    pub next_after_seq: u64,
    /// Where the page before this one ends, for a page read backwards.
    pub earlier: Earlier,
}

/// Up to `limit` messages after seq `after_seq` that `principal` may see.
pub async fn messages_after(
    store: &(impl ConversationStore + MessageStore + ?Sized),
    principal: &Principal,
    cid: &ConversationId,
    after_seq: u64,
    limit: usize,
) -> Result<MessagePage, ConversationError> {
    let conversation = visible(store, principal, cid).await?;
    let mut cursor = after_seq;
    let mut messages = Vec::new();
    for _ in 0..MAX_PAGE_REFILLS {
        let page = store
            .list_messages(&conversation.account_id, &conversation.id, cursor, limit)
            .await?;
        let exhausted = page.len() < limit;
        for message in page {
            if messages.len() == limit {
                break;
            }
            cursor = message.seq;
            if visible_to(principal.role, &message) {
                messages.push(message);
            }
        }
        if exhausted || messages.len() == limit {
            break;
        }
    }
    Ok(MessagePage {
        messages,
        next_after_seq: cursor,
        earlier: Earlier::NotAsked,
    })
}

/// The last `limit` messages `principal` may see below `before`, oldest first.
pub async fn messages_before(
    store: &(impl ConversationStore + MessageStore + ?Sized),
    principal: &Principal,
    cid: &ConversationId,
    before: Before,
    limit: usize,
) -> Result<MessagePage, ConversationError> {
    let conversation = visible(store, principal, cid).await?;
    let (account_id, cid) = (&conversation.account_id, &conversation.id);
    let end = MessageStore::last_seq(store, account_id, cid).await? + 1;
    let before = match before {
        Before::Latest => end,
        Before::Seq(seq) => seq.min(end),
    };
    // Newest first while collecting; `lowest` is the lowest seq examined.
    let (mut messages, mut lowest, mut upper) = (Vec::new(), before, before);
    for _ in 0..MAX_PAGE_REFILLS {
        if upper <= 1 || messages.len() == limit {
            break;
        }
        let after = upper.saturating_sub(1 + limit as u64);
        let page = store
            .list_messages(account_id, cid, after, (upper - 1 - after) as usize)
            .await?;
        for message in page.into_iter().rev() {
            if messages.len() == limit {
                break;
            }
            lowest = message.seq;
            if visible_to(principal.role, &message) {
                messages.push(message);
            }
        }
        upper = after + 1;
    }
    messages.reverse();
    Ok(MessagePage {
        messages,
        next_after_seq: before.saturating_sub(1),
        earlier: if lowest > 1 {
            Earlier::Before(lowest)
        } else {
            Earlier::StartReached
        },
    })
}
