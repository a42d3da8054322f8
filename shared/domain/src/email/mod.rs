//! Email continuation (#37, R35): the parts that are pure logic.
//!
//! `trim`: what an end user wrote in a reply, without the quoted thread and signature.

pub mod trim;
