//! Words into search terms, and snippets.
//!
//! A term is a word lowercased, stemmed by its language's Snowball stemmer ("remboursements" and
//! "remboursement" are both "rembours"), then with its accents folded ("événement" and
//! "evenement" meet). Words are runs of letters and digits; an apostrophe ends one ("l'argent"
//! is "l" and "argent"); one-letter words are dropped.

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::locale::Locale;

/// The words of a snippet (about 160 characters of prose).
const SNIPPET_WORDS: usize = 24;

fn stemmer(locale: Locale) -> Stemmer {
    Stemmer::create(match locale {
        Locale::En => Algorithm::English,
        Locale::Fr => Algorithm::French,
    })
}

fn fold(word: &str) -> String {
    word.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

/// The words of `text` with their byte ranges.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().nth(1).is_some())
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

/// One word's term in `locale`.
fn term(stemmer: &Stemmer, word: &str) -> String {
    fold(&stemmer.stem(&word.to_lowercase()))
}

/// The terms of `text`, in order, in `locale`'s language.
pub fn terms(text: &str, locale: Locale) -> Vec<String> {
    let stemmer = stemmer(locale);
    words(text).map(|(_, w)| term(&stemmer, w)).collect()
}

/// The words of `text` that say what it is about: those not on `locale`'s list of words
/// every sentence has (NLTK's stop words: "is", "there", "how", "je", "est"), lowercased and
/// joined by spaces. The answer bot searches these, so "Hello, is anybody there?" is not
/// matched to every article that says "is".
pub fn content_words(text: &str, locale: Locale) -> String {
    let stop = stop_words::lookup(locale.code()).unwrap_or_default();
    words(text)
        .map(|(_, w)| w.to_lowercase())
        .filter(|w| !stop.contains(&w.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Markdown as the words a reader sees: a link is its text, an image its alt text, and the
/// marks (`#`, `*`, `_`, `` ` ``, `>`, brackets) are gone.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let markdown = markdown.replace("![", "[");
    let mut rest = markdown.as_str();
    while let Some(open) = rest.find("](") {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        // Skip the link's target, up to its closing parenthesis.
        rest = after[2..]
            .find(')')
            .map_or("", |close| &after[2 + close + 1..]);
    }
    out.push_str(rest);
    out.chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '[' | ']'))
        .map(|c| if matches!(c, '#' | '>') { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// About 160 characters of `body`'s prose around the most of `query_terms` (terms in
/// `locale`), with `…` where it was cut; the opening when nothing matches.
pub fn snippet(body: &str, query_terms: &[String], locale: Locale) -> String {
    let text = plain_text(body);
    let stemmer = stemmer(locale);
    let all: Vec<(usize, &str)> = words(&text).collect();
    if all.is_empty() {
        return String::new();
    }
    let hits: Vec<bool> = all
        .iter()
        .map(|(_, w)| query_terms.contains(&term(&stemmer, w)))
        .collect();
    let width = SNIPPET_WORDS.min(all.len());
    // The window of `width` words with the most hits (the first of equals).
    let mut count = hits[..width].iter().filter(|h| **h).count();
    let (mut best, mut best_count) = (0, count);
    for start in 1..=all.len() - width {
        count = count + usize::from(hits[start + width - 1]) - usize::from(hits[start - 1]);
        if count > best_count {
            (best, best_count) = (start, count);
        }
    }
    // Its first hit a third of the way in, so the words before it show too.
    if let Some(first) = hits[best..best + width].iter().position(|h| *h) {
        best = (best + first)
            .saturating_sub(width / 3)
            .min(all.len() - width);
    }
    let from = all[best].0;
    let (last_at, last) = all[best + width - 1];
    let to = last_at + last.len();
    let mut cut = String::new();
    if best > 0 {
        cut.push('…');
    }
    cut.push_str(&text[from..to]);
    if best + width < all.len() {
        cut.push('…');
    }
    cut
}
