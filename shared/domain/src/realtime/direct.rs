//! R27's fast path: the request that stores a message pushes it itself when that cannot put
//! it ahead of an earlier one; the change stream's fan-out pushes everything else, in order.
//!
//! The ordering point is a conversation's **push cursor**: the highest seq whose
//! `message.created` went out to every connection of its audience, everything below it
//! included. A writer reads it with the last seq (no extra round trip); when the cursor has
//! reached the last seq, the new message may go at once, and the writer stores that decision
//! on the message (`direct_push_seq`). After pushing, the writer moves the cursor (saying
//! whether anyone heard it: a conversation nobody listens to is left to the stream); the
//! fan-out, seeing the decision on the stream, leaves the message to its writer once the
//! cursor shows it pushed, and pushes it itself if the writer has not said so within
//! [`WRITER_PUSH_GRACE_MS`] (a writer that failed or died after its write loses nothing).
//! Messages the stream pushes move the cursor too (when they reached anyone), so the next
//! writer may go at once again.

use crate::model::Message;

/// How long the fan-out waits for a writer that took the fast path to report its push before
/// pushing the message itself (a copy then reaches whoever the writer did reach; clients drop
/// a frame whose seq they have).
pub const WRITER_PUSH_GRACE_MS: i64 = 2_000;

/// A conversation's push cursor: every `message.created` up to `through_seq` went out, and
/// whether the last one that moved it reached anyone (`heard`). No cursor yet is
/// `PushCursor::default()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushCursor {
    pub through_seq: u64,
    pub heard: bool,
}

/// The seq at which a writer may push its own message: one past `last_seq`, when every
/// message up to `last_seq` was pushed and the last push reached someone (or the conversation
/// has no message yet), so its frame cannot overtake an earlier one. `None`: the change stream
/// pushes it, after the ones before it. Nobody listening costs nothing: such a conversation's
/// messages take the stream, whose fan-out finds no connection and writes no cursor.
pub fn direct_push_seq(last_seq: u64, cursor: PushCursor) -> Option<u64> {
    let first = last_seq == 0;
    let all_pushed_to_someone = cursor.heard && cursor.through_seq >= last_seq;
    (first || all_pushed_to_someone).then_some(last_seq + 1)
}

/// Whether the request that stored `m` pushes it: it decided so before writing, and `m` was
/// stored at the seq it decided for (a concurrent writer that took that seq first sends it
/// down the stream instead).
pub fn pushed_by_its_writer(m: &Message) -> bool {
    m.direct_push_seq == Some(m.seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_goes_at_once_only_when_everything_before_reached_someone() {
        let heard = |through_seq| PushCursor {
            through_seq,
            heard: true,
        };
        assert_eq!(
            direct_push_seq(0, PushCursor::default()),
            Some(1),
            "the first message"
        );
        assert_eq!(direct_push_seq(7, heard(7)), Some(8));
        assert_eq!(
            direct_push_seq(7, heard(6)),
            None,
            "seq 7 may still be on its way"
        );
        assert_eq!(
            direct_push_seq(7, heard(9)),
            Some(8),
            "a stale last seq: the append lands elsewhere and the seq check refuses"
        );
        let unheard = PushCursor {
            through_seq: 7,
            heard: false,
        };
        assert_eq!(direct_push_seq(7, unheard), None, "nobody was listening");
        assert_eq!(direct_push_seq(7, PushCursor::default()), None);
    }

    #[test]
    fn only_a_message_stored_at_the_decided_seq_is_its_writers_to_push() {
        let conversation = crate::rules::new_conversation(
            "acct",
            "eu-1",
            &crate::settings::Settings::default(),
            1,
        );
        let mut m = crate::messages::system_message(&conversation, "k", "hi", 1);
        m.seq = 8;
        assert!(!pushed_by_its_writer(&m), "no decision");
        m.direct_push_seq = Some(8);
        assert!(pushed_by_its_writer(&m));
        m.seq = 9;
        assert!(!pushed_by_its_writer(&m), "a concurrent writer took seq 8");
    }
}
