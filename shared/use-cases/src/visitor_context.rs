//! Visitor context (#39 item 6): the end user's widget says which pages they were on; agents
//! see it beside the conversation (`domain::visitor_context`).

use domain::error::DomainError;
use domain::ids::ConversationId;
use domain::model::{Conversation, Role};
use domain::visitor_context::{checked_pages, with_context, Client, PageView};

use crate::auth::Principal;
use crate::backend::Backend;
use crate::conversations::{visible, ConversationError};
use crate::ports::update_with_retry;

/// Keeps `pages` (checked before anything is read) and `client` on the caller's own
/// conversation. Only its end user may; 403 `page_views_disabled` when the account turned
/// `widget.share_page_views` off. The same context again writes nothing.
pub async fn share(
    backend: &Backend,
    principal: &Principal,
    cid: &ConversationId,
    pages: Vec<PageView>,
    client: Client,
    now: i64,
) -> Result<Conversation, ConversationError> {
    if principal.role != Role::EndUser {
        return Err(DomainError::NotTheEndUser.into());
    }
    let pages = checked_pages(pages, now)?;
    let conversation = visible(backend.store.as_ref(), principal, cid).await?;
    let settings = backend.settings(&principal.account_id).await?;
    if !settings.widget.share_page_views {
        return Err(DomainError::PageViewsDisabled.into());
    }
    update_with_retry::<ConversationError, _>(backend.store.as_ref(), conversation, |current| {
        Ok(with_context(current, pages.clone(), client.clone(), now))
    })
    .await
}
