//! Satisfaction surveys (R6, spec "Satisfaction and hours"): sent from the change stream
//! after a session's end notice when R6 recorded a request, rated once per session by the
//! end user, reported to admins.

use crate::auth::Principal;
use crate::error::{DomainError, StoreError};
use crate::ports::{ConversationStore, MessageStore, SessionStore};
use domain::model::{Message, Role};
use domain::realtime::{Stored, StoredChange};
use domain::sessions::CsatRequest;
use domain::surveys::{
    is_session_end_notice, rate, survey_client_message_id, survey_message, CsatAnswer, CsatReport,
};

/// Ratings one report reads at most; a report that reaches it says so (`truncated`).
pub const MAX_REPORTED_RATINGS: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The fan-out's step: when `change` is an ended session's notice and R6 recorded a request
/// for that session, the survey follows it, once (a redelivered change finds it there).
pub async fn send_after_end(
    store: &(impl MessageStore + SessionStore + ?Sized),
    change: &StoredChange,
    now: i64,
) -> Result<Option<Message>, StoreError> {
    let (None, Some(Stored::Message(notice))) = (&change.before, &change.after) else {
        return Ok(None);
    };
    if !is_session_end_notice(notice) {
        return Ok(None);
    }
    let (account_id, cid) = (&notice.account_id, &notice.conversation_id);
    let Some(request) = store
        .get_csat_request(account_id, cid, notice.session_no)
        .await?
    else {
        return Ok(None);
    };
    let survey = survey_message(&request, now);
    let sent = store
        .find_message(
            account_id,
            cid,
            &survey.author_id,
            &survey.client_message_id,
        )
        .await?;
    if sent.is_some() {
        return Ok(None);
    }
    store.append_message(&survey).await?;
    tracing::info!(account_id = %account_id, conversation_id = %cid, session_no = request.session_no, "satisfaction survey sent");
    Ok(Some(survey))
}

/// `POST /v1/conversations/{cid}/csat`: the end user rates the conversation's latest
/// surveyed session. 404 for another's conversation, 404 `no_survey` before a survey was
/// sent, 409 `already_rated` after the first rating.
pub async fn submit(
    store: &(impl ConversationStore + MessageStore + SessionStore + ?Sized),
    principal: &Principal,
    cid: &domain::ids::ConversationId,
    answer: CsatAnswer,
    now: i64,
) -> Result<CsatRequest, SurveyError> {
    if principal.role != Role::EndUser {
        return Err(SurveyError::Forbidden(
            "only the end user rates a conversation",
        ));
    }
    let conversation = crate::auth::visible_conversation(store, principal, cid)
        .await?
        .ok_or(SurveyError::NotFound)?;
    let request = store
        .latest_csat_request(&conversation.account_id, &conversation.id)
        .await?
        .ok_or(DomainError::NoSurvey)?;
    // Recorded is not yet sent: the survey must be in the conversation to be answered.
    let sent = store
        .find_message(
            &conversation.account_id,
            &conversation.id,
            domain::rules::SYSTEM_AUTHOR,
            &survey_client_message_id(request.session_no),
        )
        .await?;
    if sent.is_none() {
        return Err(DomainError::NoSurvey.into());
    }
    let rated = rate(&request, answer, now)?;
    match store.record_csat_rating(&rated).await {
        Ok(()) => {}
        // Rated in between by a concurrent request.
        Err(StoreError::Conflict) => return Err(DomainError::AlreadyRated.into()),
        Err(other) => return Err(other.into()),
    }
    tracing::info!(account_id = %rated.account_id, conversation_id = %rated.conversation_id, session_no = rated.session_no, score = ?rated.score, "satisfaction rated");
    Ok(rated)
}

/// `GET /v1/reports/csat?from=&to=` (admins): ratings given in `[from_ms, to_ms]`.
pub async fn report(
    store: &(impl SessionStore + ?Sized),
    principal: &Principal,
    (from_ms, to_ms): (i64, i64),
) -> Result<(CsatReport, bool), SurveyError> {
    if principal.role != Role::Admin {
        return Err(SurveyError::Forbidden("only admins read reports"));
    }
    let rated = store
        .list_csat_ratings(
            &principal.account_id,
            (from_ms, to_ms),
            MAX_REPORTED_RATINGS,
        )
        .await?;
    let truncated = rated.len() >= MAX_REPORTED_RATINGS;
    Ok((CsatReport::of(&rated), truncated))
}
