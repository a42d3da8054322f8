//! The search index: for each term, the articles it appears in and how often (title words
//! weigh [`TITLE_WEIGHT`] body words), ranked with Okapi BM25 over that weighted field (the
//! BM25F simplification: one length, one term frequency per article).
//!
//! An article is added or replaced with `upsert` and taken out with `remove`, so the index
//! follows article changes one at a time; its serialised form is what a deployment keeps.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::text::terms;
use super::Article;
use crate::locale::Locale;

/// How many body words one title word is worth.
pub const TITLE_WEIGHT: u32 = 3;
/// BM25's term-frequency saturation and length normalisation (the usual values).
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// What the index keeps of an article besides its terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Doc {
    id: String,
    title: String,
    locale: Locale,
    published: bool,
    /// Weighted length: `TITLE_WEIGHT` × title terms + body terms.
    len: u32,
}

/// `(slot, weighted term frequency)`.
type Posting = (u32, u32);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchIndex {
    /// One slot per article ever added; `None` once removed (slots are not reused).
    docs: Vec<Option<Doc>>,
    #[serde(skip)]
    slots: HashMap<String, u32>,
    postings: HashMap<String, Vec<Posting>>,
    live: u32,
    total_len: u64,
}

/// A search: its words, the language to read them in (both when `None`, and then articles of
/// any language), and whether only published articles may be found (end users, visitors).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery<'a> {
    pub text: &'a str,
    pub locale: Option<Locale>,
    pub published_only: bool,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub id: String,
    pub title: String,
    pub locale: Locale,
    pub published: bool,
    pub score: f64,
}

impl SearchIndex {
    pub fn of(articles: &[Article]) -> Self {
        let mut index = Self::default();
        for article in articles {
            index.upsert(article);
        }
        index
    }

    /// The index as read back from its serialised form (the id → slot map is rebuilt).
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        let mut index: Self = serde_json::from_str(json)?;
        index.slots = index
            .docs
            .iter()
            .enumerate()
            .filter_map(|(slot, doc)| Some((doc.as_ref()?.id.clone(), slot as u32)))
            .collect();
        Ok(index)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Articles in the index.
    pub fn len(&self) -> usize {
        self.live as usize
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Adds `article`, or replaces what the index had of it.
    pub fn upsert(&mut self, article: &Article) {
        self.remove(&article.id);
        let title = terms(&article.title, article.locale);
        let body = terms(&article.body, article.locale);
        let len = TITLE_WEIGHT * title.len() as u32 + body.len() as u32;
        let mut frequencies: HashMap<String, u32> = HashMap::new();
        for term in title {
            *frequencies.entry(term).or_default() += TITLE_WEIGHT;
        }
        for term in body {
            *frequencies.entry(term).or_default() += 1;
        }
        let slot = self.docs.len() as u32;
        for (term, tf) in frequencies {
            self.postings.entry(term).or_default().push((slot, tf));
        }
        self.docs.push(Some(Doc {
            id: article.id.clone(),
            title: article.title.clone(),
            locale: article.locale,
            published: article.published,
            len,
        }));
        self.slots.insert(article.id.clone(), slot);
        self.live += 1;
        self.total_len += u64::from(len);
    }

    /// Takes article `id` out; whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.slots.remove(id) else {
            return false;
        };
        if let Some(doc) = self.docs.get_mut(slot as usize).and_then(Option::take) {
            self.live -= 1;
            self.total_len -= u64::from(doc.len);
        }
        self.postings.retain(|_, list| {
            list.retain(|(s, _)| *s != slot);
            !list.is_empty()
        });
        true
    }

    /// The best `limit` articles for `query`, best first (equal scores by id); none for a
    /// query with no words.
    pub fn search(&self, query: &SearchQuery) -> Vec<SearchHit> {
        let locales = match query.locale {
            Some(locale) => vec![locale],
            None => Locale::ALL.to_vec(),
        };
        let wanted: BTreeSet<String> = locales.iter().flat_map(|l| terms(query.text, *l)).collect();
        if wanted.is_empty() || self.live == 0 || query.limit == 0 {
            return Vec::new();
        }
        let n = f64::from(self.live);
        let average = self.total_len as f64 / n;
        let mut scores = vec![0.0_f64; self.docs.len()];
        for term in &wanted {
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let df = list.len() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(slot, tf) in list {
                let Some(doc) = &self.docs[slot as usize] else {
                    continue;
                };
                let tf = f64::from(tf);
                let norm = K1 * (1.0 - B + B * f64::from(doc.len) / average);
                scores[slot as usize] += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut hits: Vec<(u32, f64)> = scores
            .iter()
            .enumerate()
            .filter(|(_, score)| **score > 0.0)
            .filter_map(|(slot, score)| {
                let doc = self.docs[slot].as_ref()?;
                let language = query.locale.is_none_or(|l| l == doc.locale);
                let visible = doc.published || !query.published_only;
                (language && visible).then_some((slot as u32, *score))
            })
            .collect();
        let id = |slot: u32| self.docs[slot as usize].as_ref().map(|d| d.id.as_str());
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| id(a.0).cmp(&id(b.0))));
        hits.into_iter()
            .take(query.limit)
            .filter_map(|(slot, score)| {
                let doc = self.docs[slot as usize].as_ref()?;
                Some(SearchHit {
                    published: doc.published,
                    id: doc.id.clone(),
                    title: doc.title.clone(),
                    locale: doc.locale,
                    score,
                })
            })
            .collect()
    }
}
