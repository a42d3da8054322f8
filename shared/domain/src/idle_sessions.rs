//! Idle auto-end (spec "Satisfaction and hours"): with `messaging.idle_timeout_minutes` set, a
//! session with no end-user message for that long is ended by the system, through the same
//! atomic step as an agent's end (R21: notice, CSAT when R6 applies, capacity released).
//!
//! Each end-user message schedules an [`IdleCheck`] on the routing queue, delayed by the
//! timeout (SQS delays reach 15 minutes, so a longer timeout hops: a check that comes back
//! early is sent again for what is left). A check is dropped as soon as a later end-user
//! message exists (that message scheduled its own), so a busy session costs about two queue
//! messages per end-user message, and an idle one is ended within a minute of its deadline.

use serde::{Deserialize, Serialize};

use crate::model::{AuthorRole, Conversation, Message, SessionState};
use crate::routing::Agent;
use crate::sessions::{end_with_notice, SessionChange};
use crate::settings::Settings;

/// SQS's longest delay: a check further away than this hops.
pub const MAX_CHECK_DELAY_SECONDS: u32 = 900;

/// Who the ticket history and the CSAT record credit with an idle end.
pub const IDLE_ENDED_BY: &str = "system.idle-timeout";

/// "Is this session still idle since this end-user message?", due when the timeout runs out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdleCheck {
    pub account_id: String,
    pub conversation_id: String,
    pub session_no: u32,
    /// The end-user message the idle time counts from.
    pub message_seq: u64,
    pub message_at: i64,
}

impl IdleCheck {
    /// The check an end user's `message` schedules, if it is one.
    pub fn after(message: &Message) -> Option<Self> {
        (message.author_role == AuthorRole::EndUser).then(|| Self {
            account_id: message.account_id.clone(),
            conversation_id: message.conversation_id.clone(),
            session_no: message.session_no,
            message_seq: message.seq,
            message_at: message.created_at,
        })
    }
}

/// The delay (seconds) to queue a check with when `due_at` is still ahead at `now`.
pub fn check_delay_seconds(due_at: i64, now: i64) -> u32 {
    let seconds = (due_at.saturating_sub(now).max(0) as u64).div_ceil(1_000);
    u32::try_from(seconds)
        .unwrap_or(u32::MAX)
        .min(MAX_CHECK_DELAY_SECONDS)
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleVerdict {
    /// Nothing to do: the session ended or moved on, a later end-user message took over, or
    /// the timeout was turned off.
    Drop(&'static str),
    /// Not idle long enough yet: check again after this many seconds.
    CheckAgainIn(u32),
    /// Idle past the timeout: end the session.
    End,
}

/// Judges `check` against the conversation as stored now and the account's timeout;
/// `later_end_user_message` says whether the end user wrote again after the check's message.
pub fn judge(
    check: &IdleCheck,
    conversation: Option<&Conversation>,
    settings: &Settings,
    later_end_user_message: bool,
    now: i64,
) -> IdleVerdict {
    let Some(conversation) = conversation else {
        return IdleVerdict::Drop("conversation gone");
    };
    if conversation.session != SessionState::Active || conversation.session_no != check.session_no {
        return IdleVerdict::Drop("session already ended");
    }
    let Some(minutes) = settings.messaging.idle_timeout_minutes else {
        return IdleVerdict::Drop("idle timeout off");
    };
    if later_end_user_message {
        return IdleVerdict::Drop("the end user wrote again");
    }
    let due_at = check.message_at + i64::from(minutes) * 60_000;
    if now < due_at {
        return IdleVerdict::CheckAgainIn(check_delay_seconds(due_at, now).max(1));
    }
    IdleVerdict::End
}

/// R21's step for an idle session (no R20 check: the system, not an agent, ends it). `None`
/// when it has ended already.
pub fn end_idle_session(
    current: &Conversation,
    settings: &Settings,
    holder: Option<&Agent>,
    now: i64,
) -> Option<SessionChange> {
    let minutes = settings.messaging.idle_timeout_minutes.unwrap_or_default();
    end_with_notice(
        current,
        settings,
        holder,
        IDLE_ENDED_BY,
        &crate::locale::in_conversation(current, settings)
            .texts()
            .idle_ended(minutes),
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Control, SessionState};
    use crate::rules::{hand_off, new_conversation};

    /// A session agents hold (handed off), with no agent assigned yet.
    fn handed_off() -> Conversation {
        let c = new_conversation("acme", "alice", &Settings::default(), 1_000);
        hand_off(&c, None, 1_100).unwrap()
    }

    fn check_at(at: i64) -> IdleCheck {
        IdleCheck {
            account_id: "acme".into(),
            conversation_id: "c_1".into(),
            session_no: 1,
            message_seq: 3,
            message_at: at,
        }
    }

    fn with_timeout(minutes: Option<u32>) -> Settings {
        let mut settings = Settings::default();
        settings.messaging.idle_timeout_minutes = minutes;
        settings
    }

    #[test]
    fn a_check_ends_the_session_only_once_the_timeout_has_run_out() {
        let conversation = handed_off();
        let settings = with_timeout(Some(60));
        let check = check_at(1_000_000);
        let hour = 3_600_000;
        // Early: comes back for what is left, in hops of at most 15 minutes.
        assert_eq!(
            judge(&check, Some(&conversation), &settings, false, 1_000_000),
            IdleVerdict::CheckAgainIn(MAX_CHECK_DELAY_SECONDS)
        );
        assert_eq!(
            judge(
                &check,
                Some(&conversation),
                &settings,
                false,
                1_000_000 + hour - 90_500
            ),
            IdleVerdict::CheckAgainIn(91)
        );
        assert_eq!(
            judge(
                &check,
                Some(&conversation),
                &settings,
                false,
                1_000_000 + hour
            ),
            IdleVerdict::End
        );
    }

    #[test]
    fn a_later_message_an_ended_session_or_no_timeout_drops_the_check() {
        let conversation = handed_off();
        let late = 1_000_000 + 10 * 3_600_000;
        let check = check_at(1_000_000);
        let on = with_timeout(Some(5));
        assert!(matches!(
            judge(&check, Some(&conversation), &on, true, late),
            IdleVerdict::Drop(_)
        ));
        assert!(matches!(
            judge(
                &check,
                Some(&conversation),
                &with_timeout(None),
                false,
                late
            ),
            IdleVerdict::Drop(_)
        ));
        let mut ended = conversation.clone();
        ended.session = SessionState::Ended;
        assert!(matches!(
            judge(&check, Some(&ended), &on, false, late),
            IdleVerdict::Drop(_)
        ));
        let mut next_session = conversation.clone();
        next_session.session_no = 2;
        assert!(matches!(
            judge(&check, Some(&next_session), &on, false, late),
            IdleVerdict::Drop(_)
        ));
        assert!(matches!(
            judge(&check, None, &on, false, late),
            IdleVerdict::Drop(_)
        ));
    }

    #[test]
    fn an_idle_end_is_r21s_step_without_r20s_agent_permission() {
        let conversation = handed_off();
        let mut settings = with_timeout(Some(30));
        settings.messaging.agents_can_end_sessions = false;
        settings.messaging.csat_on_session_end = true;
        let change = end_idle_session(&conversation, &settings, None, 5).unwrap();
        assert_eq!(change.conversation.session, SessionState::Ended);
        assert_eq!(change.conversation.control, Control::Bot);
        assert_eq!(conversation.control, Control::Agent);
        let notice = change.notice.unwrap();
        assert!(crate::surveys::is_session_end_notice(&notice));
        assert!(notice.text.unwrap().contains("30 minutes"));
        assert_eq!(change.csat.unwrap().ended_by, IDLE_ENDED_BY);
        assert!(end_idle_session(&change.conversation, &settings, None, 6).is_none());
    }

    #[test]
    fn the_delay_rounds_up_and_is_capped() {
        assert_eq!(check_delay_seconds(10_001, 10_000), 1);
        assert_eq!(check_delay_seconds(9_000, 10_000), 0);
        assert_eq!(check_delay_seconds(i64::MAX, 0), MAX_CHECK_DELAY_SECONDS);
    }
}
