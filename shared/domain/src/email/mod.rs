//! Email continuation (#37, R35): the parts that are pure logic.
//!
//! - `reply_token`: the signed, account-scoped token of a conversation's reply address;
//! - `events`: SES's bounces and complaints, the addresses they suppress;
//! - `inbound`: a raw reply read (MIME parsed by `mail-parser`), trimmed, its files listed;
//! - `outbound`: when an unread reply is emailed, which replies, and what the email says;
//! - `trim`: what an end user wrote in a reply, without the quoted thread and signature.

pub mod events;
pub mod inbound;
pub mod outbound;
pub mod reply_token;
pub mod trim;
