//! The domain's error: a request broke a rule. The mapping to HTTP lives in the edge only.

use thiserror::Error;

/// A request broke a domain rule; each variant maps to one stable API error code.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("message text is longer than {max} characters")]
    MessageTooLong { max: usize },
    #[error("{0}")]
    Unprocessable(String),
    #[error("this client_message_id was already used with a different body")]
    IdempotencyConflict,
    #[error("only agents can post internal notes")]
    InternalNoteForbidden,
    #[error("attachment {0} is not a clean attachment of this conversation")]
    AttachmentNotUsable(String),
    #[error("{0}")]
    InvalidTransition(String),
    #[error("{0}")]
    InvalidField(String),
    #[error("{0}")]
    InvalidProfile(String),
    #[error("no agent {0} in this account")]
    UnknownAgent(String),
    #[error("agents of this account cannot end messaging sessions (messaging.agents_can_end_sessions is off)")]
    SessionEndingDisabled,
    #[error("the conversation is not under bot control")]
    NotUnderBotControl,
    #[error("this session was rated already")]
    AlreadyRated,
    #[error("no satisfaction survey was sent for this conversation")]
    NoSurvey,
    #[error("capacities are between 0 and {max}")]
    InvalidCapacity { max: u32 },
    #[error(
        "up to {max} group names of 1-100 characters, no control characters, no surrounding spaces"
    )]
    InvalidGroups { max: usize },
    #[error("groups: at most {max} names of 1-100 characters, no control characters, no surrounding spaces")]
    InvalidWorkspace { max: usize },
    #[error("this conversation is offered to another agent")]
    NotOffered,
    #[error("there is no standing offer of this conversation to accept")]
    OfferNotStanding,
    #[error("nothing has been uploaded for this attachment yet")]
    NotUploaded,
    #[error("{0}")]
    InvalidVisitorContext(String),
    #[error("this account does not share page views with agents (widget.share_page_views is off)")]
    PageViewsDisabled,
    #[error("only the conversation's end user shares where they are")]
    NotTheEndUser,
    #[error("{0}")]
    InvalidReportRange(String),
    #[error("{0}")]
    InvalidArticle(String),
    #[error("{0}")]
    InvalidMacro(String),
    #[error("reports are counted in days of {counted} (business_hours.timezone), not {asked}")]
    ReportZoneMismatch { asked: String, counted: String },
}
