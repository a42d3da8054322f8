//! What an end user wrote in an email reply, without the thread their mail client quoted under
//! (or above) it, nor its "Sent from my iPhone" (#37, R35).
//!
//! A port of Discourse's `email_reply_trimmer` (MIT, github.com/discourse/email_reply_trimmer,
//! version 0.2.0) for English and French and the marks every client shares, tested against that
//! project's own fixtures (`tests/fixtures/email-replies/`). No maintained Rust crate does this
//! for French clients. Each line is classed (text, empty, quote, delimiter, signature, an
//! embedded email's "On … wrote:", a header block's "From:"); the classes form a pattern
//! string, and the rules cut on that pattern, as the original does.
//!
//! Left out from the original: its other languages' quote marks and headers (their mobile
//! signatures are kept), and the `>>> name >>>` enclosed quotes, whose pattern needs a
//! back-reference the `regex` crate does not have.

use std::sync::LazyLock;

use regex::Regex;

const DELIMITER: char = 'd';
const EMBEDDED: char = 'b';
const EMPTY: char = 'e';
const HEADER: char = 'h';
const QUOTE: char = 'q';
const SIGNATURE: char = 's';
const TEXT: char = 't';

fn regex(pattern: &str) -> Regex {
    // Every pattern here is a constant, compiled once and covered by the fixtures' tests.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("a constant pattern compiles")
}

fn regexes(patterns: &[&str]) -> Vec<Regex> {
    patterns.iter().map(|p| regex(p)).collect()
}

static EMPTY_LINE: LazyLock<Regex> = LazyLock::new(|| regex(r"^[\t\p{Zs}]*$"));
static DELIMITER_LINE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[\t\p{Zs}]*[-_,=+~#*ᐧ—]+[\t\p{Zs}]*$"));
static QUOTE_LINE: LazyLock<Regex> = LazyLock::new(|| regex(r"^[\t\p{Zs}]*>"));
static MARKDOWN_LINK: LazyLock<Regex> = LazyLock::new(|| regex(r"\[([^\]]+)\]\([^)]+\)"));

/// A mobile client's signature: "Sent from my iPhone", "Envoyé de mon iPhone".
static SIGNATURES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    regexes(&[
        r"(?i)^[\t\p{Zs}]*\w+ from mobile",
        r"(?i)^[\t\p{Zs}]*[(<]*Sent (from|via|with|by) .+[)>]*",
        r"(?i)^[\t\p{Zs}]*From my .{1,20}",
        r"(?i)^[\t\p{Zs}]*Get Outlook for ",
        r"(?i)^[\t\p{Zs}]*Envoyé depuis (mon|Yahoo Mail)",
        // iOS and Android in French (not in the original's list; iphone_fr.eml).
        r"(?i)^[\t\p{Zs}]*Envoyé (de|à partir de) mon ",
        r"(?i)^[\t\p{Zs}]*Obtenir Outlook pour ",
        // Other languages' mobile signatures, which cost nothing to know.
        r"(?i)^[\t\p{Zs}]*從我的 iPhone 傳送",
        r"(?i)^[\t\p{Zs}]*Von meinem .+ gesendet",
        r"(?i)^[\t\p{Zs}]*Diese Nachricht wurde von .+ gesendet",
        r"(?i)^[\t\p{Zs}]*Inviato da ",
        r"(?i)^[\t\p{Zs}]*Sendt fra min ",
        r"(?i)^[\t\p{Zs}]*Enviado do meu ",
        r"(?i)^[\t\p{Zs}]*Enviado desde mi ",
        r"(?i)^[\t\p{Zs}]*Verzonden met ",
        r"(?i)^[\t\p{Zs}]*Verstuurd vanaf mijn ",
        r"(?i)^[\t\p{Zs}]*från min ",
    ])
});

/// "On Mon, Dec 7, 2026 at 10:00, Relay <…> wrote:", "Le 7 déc. 2026 à 10:00, Relay a écrit :"
/// (these may span lines: `preprocess` joins them first).
const ON_DATE_SOMEONE_WROTE: [&str; 3] = [
    r"(?ims)^[\t\p{Zs}<>-]*In message .+?writes[\t\p{Zs}.:>-]*$",
    r"(?ims)^[\t\p{Zs}<>-]*(On|At) .+?(wrote|writes|says|said)[\t\p{Zs}.:>-]*$",
    r"(?ims)^[\t\p{Zs}<>-]*Le .+?(nous\sa\sdit|a\s+écrit)[\t\p{Zs}.:>-]*$",
];
/// "Some One wrote on Mon, …:"
const SOMEONE_WROTE_ON_DATE: &str = r"(?m)^.+\bwrote\b\s+\bon\b.+[^:]+:";
/// "2013/10/2 camilohollanda <info@discourse.org>"
const DATE_SOMEONE_EMAIL: &str = r"(?m)\d{4}.{1,80}\s?<[^@<>]+@[^@<>.]+\.[^@<>]+>:?$";

static EMBEDDED_LINES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    let mut all: Vec<&str> = ON_DATE_SOMEONE_WROTE.to_vec();
    all.extend([
        SOMEONE_WROTE_ON_DATE,
        DATE_SOMEONE_EMAIL,
        // 2016-03-03 17:21 GMT+01:00 Some One
        r"^[\t\p{Zs}>]*20\d\d-\d\d-\d\d \d\d:\d\d GMT\+\d\d:\d\d [\w\t\p{Zs}]+$",
        // codinghorror via Discourse Meta wrote:
        r"^.+ via .+ wrote:?[\t\p{Zs}]*$",
        // Some One <info@discourse.org> wrote:
        r"^.+\b[\w.+-]+@[\w.-]+\.\w{2,}\b.+wrote:?$",
        // Posted by mpalmer on 01/21/2016
        r"(?i)^[\t\p{Zs}>]*Posted by .+ on \d{2}/\d{2}/\d{4}$",
        // Forwarded and original messages, in both languages.
        r"(?i)^[\t\p{Zs}>]*Begin forwarded message:",
        r"(?i)^[\t\p{Zs}>*]*-{2,}[\t\p{Zs}]*(Forwarded|Original|Reply) Message[\t\p{Zs}]*-{2,}",
        r"(?i)^[\t\p{Zs}>]*Début du message transféré[\t\p{Zs}]*:",
        r"(?i)^[\t\p{Zs}>*]*-{2,}[\t\p{Zs}]*Message transféré[\t\p{Zs}]*-{2,}",
    ]);
    regexes(&all)
});

/// A quoted header block's lines (Outlook's "From: … Sent: …", "De : … Envoyé : …").
static HEADER_LINES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    regexes(&[
        r"^[\t\p{Zs}*]*(?:Sent|Date)[\t\p{Zs}*]*:.*\d+",
        r"^[\t\p{Zs}*]*(?:Date|Le)[\t\p{Zs}*]*:.*\d+",
        r"(?i)^[\t\p{Zs}*]*(?:From|To|Cc|Reply-To|Subject)[\t\p{Zs}*]*:.*\w+",
        r"(?i)^[\t\p{Zs}*]*(?:De|Expéditeur|À|Destinataire|Répondre à|Objet)[\t\p{Zs}*]*:.*\w+",
    ])
});

/// A mobile signature, its markdown links read as their text.
fn signature(line: &str) -> bool {
    let line = MARKDOWN_LINK.replace_all(line, "$1");
    SIGNATURES.iter().any(|r| r.is_match(&line))
}

fn class_of(line: &str) -> char {
    if EMPTY_LINE.is_match(line) {
        EMPTY
    } else if DELIMITER_LINE.is_match(line) {
        DELIMITER
    } else if signature(line) {
        SIGNATURE
    } else if EMBEDDED_LINES.iter().any(|r| r.is_match(line)) {
        EMBEDDED
    } else if HEADER_LINES.iter().any(|r| r.is_match(line)) {
        HEADER
    } else if QUOTE_LINE.is_match(line) {
        QUOTE
    } else {
        TEXT
    }
}

/// The cuts' rules over the pattern string of line classes, compiled once.
struct Rules {
    reply_at_end: Regex,
    reply_after_quote: Regex,
    mark_without_quote: Regex,
    mark_before_long_quote: Regex,
    quote_at_end: Regex,
    spread_headers: Regex,
    text_before_headers: Regex,
    trailing_quotes: Regex,
}

static RULES: LazyLock<Rules> = LazyLock::new(|| Rules {
    reply_at_end: regex(r"^b[^t]+t[et]*$"),
    reply_after_quote: regex(r"t[et]*$"),
    mark_without_quote: regex(r"te*b[^q]*$"),
    mark_before_long_quote: regex(r"te*b[eqbh]*([te]*)$"),
    quote_at_end: regex(r"t?e*[qbe]+$"),
    spread_headers: regex(r"h+[hte]+h+e"),
    text_before_headers: regex(r"t[eq]*h{3,}"),
    trailing_quotes: regex(r"[eq]+$"),
});

/// Where `pattern` first matches `rule`.
fn first(rule: &Regex, pattern: &str) -> Option<usize> {
    rule.find(pattern).map(|m| m.start())
}

/// Keeps the lines (and their classes) in `range`.
fn keep(lines: &mut Vec<String>, pattern: &mut String, range: std::ops::Range<usize>) {
    *lines = lines[range.clone()].to_vec();
    *pattern = pattern[range].to_string();
}

/// Removes every line of class `class`.
fn drop_class(lines: &mut Vec<String>, pattern: &mut String, class: char) {
    let kept: Vec<(String, char)> = lines
        .drain(..)
        .zip(pattern.chars())
        .filter(|(_, c)| *c != class)
        .collect();
    *pattern = kept.iter().map(|(_, c)| *c).collect();
    *lines = kept.into_iter().map(|(l, _)| l).collect();
}

/// `text` as the end user wrote it, without what their client quoted or appended (a reply of
/// quotes alone keeps its first line, as the original does).
pub fn trim_reply(text: &str) -> String {
    let rules = &*RULES;
    let (text, blocks) = hoist_code_blocks(&preprocess(text));
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut pattern: String = lines.iter().map(|l| class_of(l)).collect();

    // Everything after the first delimiter goes.
    if let Some(i) = pattern.find(DELIMITER) {
        keep(&mut lines, &mut pattern, 0..i);
    }
    drop_class(&mut lines, &mut pattern, SIGNATURE);
    // A reply written under the quote (bottom-posting) is all there is.
    if rules.reply_at_end.is_match(&pattern) {
        if let Some(i) = first(&rules.reply_after_quote, &pattern) {
            return joined(&lines[i..], &blocks);
        }
    }
    // An embedded email's mark not followed by a quote: everything up to the mark.
    if let Some(i) = first(&rules.mark_without_quote, &pattern) {
        keep(&mut lines, &mut pattern, 0..i + 1);
    }
    // A mark followed by a long quote with little text after it: up to the mark.
    if let Some(found) = rules.mark_before_long_quote.captures(&pattern) {
        let after = found.get(1).map_or("", |m| m.as_str());
        if after.matches(TEXT).count() < 7 {
            let i = found.get(0).map_or(0, |m| m.start());
            keep(&mut lines, &mut pattern, 0..i + 1);
        }
    }
    // Text then a quote that ends the email: the quote goes.
    if let Some(i) = first(&rules.quote_at_end, &pattern) {
        keep(&mut lines, &mut pattern, 0..i + 1);
    }
    drop_class(&mut lines, &mut pattern, EMBEDDED);
    // Header blocks spread over several lines are one block.
    if let Some(m) = rules.spread_headers.find(&pattern) {
        let range = m.range();
        pattern.replace_range(range.clone(), &HEADER.to_string().repeat(range.len()));
    }
    // Three headers in a row after some text: the text is the reply.
    if let Some(i) = first(&rules.text_before_headers, &pattern) {
        keep(&mut lines, &mut pattern, 0..i + 1);
    }
    drop_class(&mut lines, &mut pattern, HEADER);
    // Quotes that end the email, once there is text.
    if pattern.contains(TEXT) {
        if let Some(i) = first(&rules.trailing_quotes, &pattern) {
            keep(&mut lines, &mut pattern, 0..i);
        }
    }
    joined(&lines, &blocks)
}

/// The lines kept, trimmed, their code blocks put back.
fn joined(lines: &[String], blocks: &[(String, String)]) -> String {
    let mut trimmed = lines.join("\n").trim().to_string();
    for (token, block) in blocks {
        trimmed = trimmed.replace(token, block);
    }
    trimmed
}

/// Code blocks (```) kept whole whatever their lines look like: each becomes a token, put back
/// at the end.
fn hoist_code_blocks(text: &str) -> (String, Vec<(String, String)>) {
    static BLOCK: LazyLock<Regex> = LazyLock::new(|| regex(r"(?ms)^```\w*$\n.*?^```$"));
    let mut blocks = Vec::new();
    let hoisted = BLOCK.replace_all(text, |found: &regex::Captures| {
        let token = format!("relay-code-block-{}", blocks.len());
        blocks.push((token.clone(), found[0].to_string()));
        token
    });
    (hoisted.into_owned(), blocks)
}

fn preprocess(text: &str) -> String {
    static STEPS: LazyLock<Vec<(Regex, &str)>> = LazyLock::new(|| {
        vec![
            // PGP markers.
            (
                regex(r"(?i)\A-----BEGIN PGP SIGNED MESSAGE-----\n(?:Hash: \w+)?\s+"),
                "",
            ),
            (
                regex(r"(?m)^-----BEGIN PGP SIGNATURE-----$[\s\S]+^-----END PGP SIGNATURE-----"),
                "",
            ),
            // A list's unsubscribe line.
            (regex(r"(?im)^Unsubscribe: .+@.+(\n.+http:.+)?\s*\z"), ""),
            // An alias-style quote's mark.
            (regex(r#"(?m)^.*>{5} "[^"\n]+" == .+ writes:"#), ""),
        ]
    });
    static ENCLOSED: LazyLock<Regex> =
        LazyLock::new(|| regex(r"(?m)^>{4,}[\t\p{Zs}]*$\n([\s\S]+?)\n^<{4,}[\t\p{Zs}]*$"));
    static QUOTE_MARKS: LazyLock<Regex> =
        LazyLock::new(|| regex(r"(?m)^((?:[\t\p{Zs}]*\p{Alphabetic}*[>|])+)"));
    static QUOTE_MARK: LazyLock<Regex> = LazyLock::new(|| regex(r"(\p{Alphabetic}+>|\|)"));
    static SPLIT_MARKS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
        let mut all: Vec<&str> = ON_DATE_SOMEONE_WROTE.to_vec();
        all.extend([SOMEONE_WROTE_ON_DATE, DATE_SOMEONE_EMAIL]);
        regexes(&all)
    });
    static LINE_BREAKS: LazyLock<Regex> = LazyLock::new(|| regex(r"\n+\s*"));

    let mut text = text.replace("\r\n", "\n");
    for (pattern, with) in STEPS.iter() {
        text = pattern.replace_all(&text, *with).into_owned();
    }
    text = ENCLOSED
        .replace_all(&text, |c: &regex::Captures| {
            c[1].lines()
                .map(|l| format!("> {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .into_owned();
    text = QUOTE_MARKS
        .replace_all(&text, |c: &regex::Captures| {
            QUOTE_MARK.replace_all(&c[1], ">").into_owned()
        })
        .into_owned();
    // An embedded email's mark that a client wrapped over a few lines becomes one line.
    for mark in SPLIT_MARKS.iter() {
        text = mark
            .replace_all(&text, |c: &regex::Captures| {
                let found = &c[0];
                if found.matches('\n').count() > 4 {
                    found.to_string()
                } else {
                    LINE_BREAKS.replace_all(found, " ").into_owned()
                }
            })
            .into_owned();
    }
    text.trim().to_string()
}

#[cfg(test)]
mod tests;
