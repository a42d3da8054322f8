//! Email continuation (#37, R35): the parts that are pure logic.
//!
//! - `reply_token`: the signed, account-scoped token of a conversation's reply address;
//! - `inbound`: a raw reply read (MIME parsed by `mail-parser`), trimmed, its files listed;
//! - `trim`: what an end user wrote in a reply, without the quoted thread and signature.

pub mod inbound;
pub mod reply_token;
pub mod trim;
