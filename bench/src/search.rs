//! Section 9, article search (#36): the knowledge base's BM25 index at 100, 1,000 and 10,000
//! articles, in process (what a warm function does once it holds the index): a search with
//! the snippets of its first three hits, the index's serialised size, reading it back (what
//! a cold function would do), building it, and replacing one article.

use std::time::{Duration, Instant};

use domain::knowledge::text::{snippet, terms};
use domain::knowledge::{Article, SearchIndex, SearchQuery};
use domain::locale::Locale;

use crate::{ms, percentile};

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const QUERIES: usize = 400;
/// Distinct words of each language's vocabulary (the fixture's real words, then made-up ones).
const VOCABULARY: usize = 20_000;
const BODY_WORDS: usize = 250;

/// splitmix64: the same articles and queries on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A language's words, most frequent first, and their Zipf cumulative weights.
struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn of(locale: Locale, random: &mut Random) -> Self {
        let fixture: Vec<Article> =
            serde_json::from_str(include_str!("../../tests/fixtures/articles.json"))
                .unwrap_or_default();
        let mut words: Vec<String> = Vec::new();
        for article in fixture.iter().filter(|a| a.locale == locale) {
            for word in format!("{} {}", article.title, article.body)
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 1)
            {
                let word = word.to_lowercase();
                if !words.contains(&word) {
                    words.push(word);
                }
            }
        }
        let syllables = [
            "ka", "lo", "mi", "ren", "sa", "tu", "vo", "zel", "pra", "ni", "do",
        ];
        while words.len() < VOCABULARY {
            let n = 2 + (random.next() % 3) as usize;
            let word: String = (0..n)
                .map(|_| syllables[(random.next() % syllables.len() as u64) as usize])
                .collect();
            words.push(word);
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Self { words, cumulative }
    }

    fn word(&self, random: &mut Random) -> &str {
        let target = random.unit() * self.cumulative.last().copied().unwrap_or(1.0);
        let i = self.cumulative.partition_point(|c| *c < target);
        &self.words[i.min(self.words.len() - 1)]
    }

    fn text(&self, random: &mut Random, n: usize) -> String {
        (0..n)
            .map(|_| self.word(random))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn articles(n: usize, vocabularies: &[(Locale, Vocabulary)], random: &mut Random) -> Vec<Article> {
    (0..n)
        .map(|i| {
            let (locale, vocabulary) = &vocabularies[i % vocabularies.len()];
            Article {
                id: format!("art-{i:05}"),
                title: vocabulary.text(random, 6),
                body: vocabulary.text(random, BODY_WORDS),
                locale: *locale,
                labels: Vec::new(),
                published: i % 10 != 0,
                account_id: "acct".into(),
                created_at: 0,
                updated_at: 0,
                revision: 1,
            }
        })
        .collect()
}

/// The first search of a function that holds no index (a cold start, or the first search after
/// a change), against the emulator: the base's record, every article (Query pages), the index
/// built, the search; beside a warm search (the base's record and the search).
pub async fn cold_section() -> Result<(), String> {
    use adapters::dynamo::DynamoStore;
    use futures::stream::{self, StreamExt};
    use integration_tests::{emulator_config, provisioned};
    use use_cases::knowledge::{find, KnowledgeIndexes};

    println!("\nThe first search of a function holding no index (a cold start, or the first after a change) on the emulator: one consistent read of the base, every article in Query pages, the index built, the search; a warm search reads the base and searches (median of 5 cold, 50 warm):\n");
    println!("| articles | cold first search | of which reading the articles | warm search |");
    println!("|---|---|---|---|");
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&emulator_config().await),
        provisioned().await.table_name.clone(),
    );
    let mut random = Random(36_036);
    let vocabularies: Vec<(Locale, Vocabulary)> = Locale::ALL
        .into_iter()
        .map(|l| (l, Vocabulary::of(l, &mut random)))
        .collect();
    for size in SIZES {
        let account = domain::ids::new_id("acct");
        let mut corpus = articles(size, &vocabularies, &mut random);
        for article in &mut corpus {
            article.account_id = account.clone();
        }
        let base = domain::knowledge::KnowledgeBase {
            version: size as u64,
            articles: size as u32,
            published: corpus.iter().filter(|a| a.published).count() as u32,
        };
        let filling = Instant::now();
        stream::iter(&corpus)
            .map(|article| store.seed_article(&base, article))
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        eprintln!(
            "{size} articles written in {:.0} s",
            filling.elapsed().as_secs_f64()
        );
        let text = vocabularies[0].1.text(&mut random, 3);
        let query = SearchQuery {
            text: &text,
            locale: Some(vocabularies[0].0),
            published_only: true,
            limit: 3,
        };
        let (mut cold, mut reads, mut warm) = (Vec::new(), Vec::new(), Vec::new());
        let indexes = KnowledgeIndexes::default();
        for _ in 0..5 {
            let fresh = KnowledgeIndexes::default();
            let started = Instant::now();
            find(&store, &fresh, &account, &query)
                .await
                .map_err(|e| e.to_string())?;
            cold.push(started.elapsed());
            let started = Instant::now();
            let listed = use_cases::ports::KnowledgeStore::list_articles(&store, &account)
                .await
                .map_err(|e| e.to_string())?;
            reads.push(started.elapsed());
            if listed.len() != size {
                return Err(format!("{} of {size} articles read", listed.len()));
            }
        }
        find(&store, &indexes, &account, &query)
            .await
            .map_err(|e| e.to_string())?;
        for _ in 0..50 {
            let started = Instant::now();
            find(&store, &indexes, &account, &query)
                .await
                .map_err(|e| e.to_string())?;
            warm.push(started.elapsed());
        }
        for times in [&mut cold, &mut reads, &mut warm] {
            times.sort();
        }
        println!(
            "| {size} | {:.0} ms | {:.0} ms | {:.1} ms |",
            ms(percentile(&cold, 0.5)),
            ms(percentile(&reads, 0.5)),
            ms(percentile(&warm, 0.5)),
        );
    }
    Ok(())
}

pub fn section() -> Result<(), String> {
    println!("\n## 9. Article search: BM25 in process at 100, 1,000 and 10,000 articles\n");
    println!("Articles of a {BODY_WORDS}-word body and a 6-word title, half English, half French, words drawn by Zipf's law from {VOCABULARY} a language; {QUERIES} queries of 2 to 5 words, published articles only, each with the snippets of its first 3 hits (release build, one core):\n");
    println!("| articles | search p50 | search p99 | index (JSON) | per 1,000 articles | read back | built in | one article replaced |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut random = Random(38_036);
    let vocabularies: Vec<(Locale, Vocabulary)> = Locale::ALL
        .into_iter()
        .map(|l| (l, Vocabulary::of(l, &mut random)))
        .collect();
    for size in SIZES {
        let corpus = articles(size, &vocabularies, &mut random);
        let started = Instant::now();
        let mut index = SearchIndex::of(&corpus);
        let built = started.elapsed();
        let mut latencies: Vec<Duration> = Vec::with_capacity(QUERIES);
        let mut found = 0;
        for q in 0..QUERIES {
            let (locale, vocabulary) = &vocabularies[q % vocabularies.len()];
            let text = vocabulary.text(&mut random, 2 + q % 4);
            let started = Instant::now();
            let hits = index.search(&SearchQuery {
                text: &text,
                locale: Some(*locale),
                published_only: true,
                limit: 10,
            });
            let wanted = terms(&text, *locale);
            for hit in hits.iter().take(3) {
                if let Some(article) = corpus.iter().find(|a| a.id == hit.id) {
                    std::hint::black_box(snippet(&article.body, &wanted, *locale));
                }
            }
            latencies.push(started.elapsed());
            found += usize::from(!hits.is_empty());
        }
        if found < QUERIES / 2 {
            return Err(format!("only {found} of {QUERIES} queries found anything"));
        }
        latencies.sort();
        let json = index.to_json();
        let started = Instant::now();
        let back = SearchIndex::from_json(&json).map_err(|e| e.to_string())?;
        let read_back = started.elapsed();
        if back.len() != index.len() {
            return Err("the index read back lost articles".into());
        }
        let mut changed = corpus[size / 2].clone();
        changed.body = vocabularies[0].1.text(&mut random, BODY_WORDS);
        let started = Instant::now();
        index.upsert(&changed);
        let replaced = started.elapsed();
        let mb = json.len() as f64 / 1e6;
        println!(
            "| {size} | {:.2} ms | {:.2} ms | {mb:.2} MB | {:.2} MB | {:.0} ms | {:.0} ms | {:.1} ms |",
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            mb * 1_000.0 / size as f64,
            ms(read_back),
            ms(built),
            ms(replaced),
        );
    }
    Ok(())
}
