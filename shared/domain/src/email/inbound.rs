//! An inbound email as the product reads it (R35): who sent it, which reply address it
//! answers, what the end user wrote (quoted thread and signature cut by [`super::trim`]) and its
//! files. MIME is parsed by `mail-parser` (Stalwart Labs, Apache-2.0/MIT), never by hand:
//! encodings, charsets, multipart nesting and HTML-only mail (converted to text) are its job.

use mail_parser::{Address, Message, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use super::reply_token::{parse_address, ReplyToken};
use super::trim::trim_reply;
use crate::messages::MAX_TEXT_CHARS;

/// Where SES's receipt rule stores raw inbound mail in the bucket (its notification to the
/// inbound queue filters on it; the local gateway stores played mail there too).
pub const INBOUND_MAIL_PREFIX: &str = "e/in/";

/// The largest raw mail read (SES receives at most 40 MB; a 20 MB file is 27 MB in base64).
pub const MAX_INBOUND_MAIL_BYTES: u64 = 40 * 1024 * 1024;

/// A file the mail carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What an inbound reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// The `Message-ID` without its angle brackets; for a mail without one, a digest of its
    /// bytes (the same mail delivered twice is still the same message).
    pub message_id: String,
    /// The sender's address, as written (logged; the token, not the sender, names the
    /// conversation).
    pub from: Option<String>,
    /// Reply tokens found among the recipients (`To`, `Cc`, `Delivered-To`, `X-Original-To`),
    /// in that order.
    pub tokens: Vec<ReplyToken>,
    /// What the end user wrote: trimmed, at most `MAX_TEXT_CHARS` characters.
    pub text: String,
    pub attachments: Vec<MailAttachment>,
}

/// Why a mail cannot be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("not a MIME message")]
    Unparsable,
    #[error("no reply address among the recipients")]
    NoReplyAddress,
    /// An out-of-office or other automatic answer (RFC 3834 `Auto-Submitted`, the common
    /// `X-Autoreply`, `Precedence: auto_reply`): never the end user's message.
    #[error("an automatic reply")]
    AutoReply,
    /// SES's receipt scan found spam or a virus (`X-SES-Spam-Verdict`, `X-SES-Virus-Verdict`).
    #[error("flagged by SES's scan")]
    Flagged,
}

impl MailError {
    /// A stable name for logs and the failure list.
    pub fn code(self) -> &'static str {
        match self {
            Self::Unparsable => "unparsable",
            Self::NoReplyAddress => "no_reply_address",
            Self::AutoReply => "auto_reply",
            Self::Flagged => "flagged",
        }
    }
}

fn addresses<'a>(list: Option<&'a Address<'a>>) -> impl Iterator<Item = &'a str> + 'a {
    list.into_iter()
        .flat_map(|list| list.iter())
        .filter_map(|addr| addr.address())
}

fn tokens(message: &Message<'_>) -> Vec<ReplyToken> {
    let mut found: Vec<ReplyToken> = Vec::new();
    let headers = ["Delivered-To", "X-Original-To"]
        .into_iter()
        .filter_map(|name| message.header_raw(name))
        .map(|raw| raw.trim().trim_matches(['<', '>']));
    let recipients = addresses(message.to())
        .chain(addresses(message.cc()))
        .chain(headers);
    for token in recipients.filter_map(parse_address) {
        if !found.contains(&token) {
            found.push(token);
        }
    }
    found
}

/// At most `MAX_TEXT_CHARS` characters, an ellipsis marking a cut.
fn bounded(text: String) -> String {
    if text.chars().count() <= MAX_TEXT_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_TEXT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The reply's text: its text/plain part, or its HTML rendered by `html2text` with quoted
/// blocks marked `> ` (mail-parser's own conversion drops the marks, and the trimmer then
/// cannot tell the quoted thread of an HTML-only reply from what was written).
fn body_text(message: &Message<'_>) -> String {
    let html_only = message.text_part(0).is_none_or(|part| part.is_text_html());
    if html_only {
        if let Some(html) = message.body_html(0) {
            let html = prefix(&html, MAX_BODY_BYTES_READ);
            let rendered = html2text::config::plain()
                .link_footnotes(false)
                .allow_width_overflow()
                .string_from_read(html.as_bytes(), 10_000);
            if let Ok(text) = rendered {
                return text;
            }
        }
    }
    let text = message.body_text(0).unwrap_or_default();
    prefix(&text, MAX_BODY_BYTES_READ).to_string()
}

/// Every value of the header `name` (any case), as text.
fn header_texts<'m>(message: &'m Message<'_>, name: &str) -> Vec<&'m str> {
    message
        .headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .filter_map(|h| h.value().as_text())
        .collect()
}

/// Whether a mail answers by itself (RFC 3834 and the usual non-standard marks).
fn is_automatic(message: &Message<'_>) -> bool {
    let has = |name: &str, test: &dyn Fn(&str) -> bool| {
        header_texts(message, name)
            .iter()
            .any(|v| test(&v.trim().to_ascii_lowercase()))
    };
    has("Auto-Submitted", &|v| v != "no")
        || has("X-Autoreply", &|v| !v.is_empty())
        || has("X-Autorespond", &|v| !v.is_empty())
        || has("Precedence", &|v| {
            matches!(v, "auto_reply" | "bulk" | "junk" | "list")
        })
}

/// Whether SES's receipt scan judged the mail spam or infected (any of its verdicts: a sender
/// cannot hide SES's FAIL behind a PASS of their own).
fn is_flagged(message: &Message<'_>) -> bool {
    ["X-SES-Spam-Verdict", "X-SES-Virus-Verdict"]
        .iter()
        .any(|name| {
            header_texts(message, name)
                .iter()
                .any(|v| v.trim().eq_ignore_ascii_case("FAIL"))
        })
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// How much of a body is read: far more than anyone types, far less than a 40 MB mail can
/// hold (the HTML renderer and the trimmer's patterns stay quick on it).
pub const MAX_BODY_BYTES_READ: usize = 512 * 1024;

/// Reads a raw RFC 5322 message.
pub fn read_mail(raw: &[u8]) -> Result<InboundMail, MailError> {
    let message = MessageParser::default()
        .parse(raw)
        // Bytes that are not mail still parse into something: a mail names a sender or a
        // recipient.
        .filter(|m| m.from().is_some() || m.to().is_some())
        .ok_or(MailError::Unparsable)?;
    let tokens = tokens(&message);
    if tokens.is_empty() {
        return Err(MailError::NoReplyAddress);
    }
    if is_flagged(&message) {
        return Err(MailError::Flagged);
    }
    if is_automatic(&message) {
        return Err(MailError::AutoReply);
    }
    let message_id = match message.message_id() {
        Some(id) if !id.trim().is_empty() => id.trim().to_string(),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    };
    let text = bounded(trim_reply(&body_text(&message).replace("\r\n", "\n")));
    let attachments = message
        .attachments()
        .filter(|part| !part.is_message())
        .enumerate()
        .map(|(index, part)| {
            let content_type = part.content_type().map_or_else(
                || "application/octet-stream".to_string(),
                |ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                },
            );
            MailAttachment {
                file_name: part
                    .attachment_name()
                    .map_or_else(|| format!("attachment-{}", index + 1), str::to_string),
                content_type: content_type.to_ascii_lowercase(),
                bytes: part.contents().to_vec(),
            }
        })
        .collect();
    let from = addresses(message.from()).next().map(str::to_string);
    Ok(InboundMail {
        message_id,
        from,
        tokens,
        text,
        attachments,
    })
}

#[cfg(test)]
mod tests;
