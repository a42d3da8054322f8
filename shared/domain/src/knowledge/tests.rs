use super::text::{plain_text, snippet, terms};
use super::*;

/// The fixture the API tests use too: 32 articles, 16 in each language, two unpublished.
fn fixture() -> Vec<Article> {
    serde_json::from_str(include_str!("../../../../tests/fixtures/articles.json")).unwrap()
}

fn ids(hits: &[SearchHit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

fn query(text: &str, locale: Option<Locale>, published_only: bool) -> SearchQuery<'_> {
    SearchQuery {
        text,
        locale,
        published_only,
        limit: 5,
    }
}

#[test]
fn a_word_and_its_plural_and_its_accents_are_one_term() {
    assert_eq!(
        terms("remboursements", Locale::Fr),
        terms("Remboursement", Locale::Fr)
    );
    assert_eq!(terms("refunds", Locale::En), terms("refund", Locale::En));
    assert_eq!(
        terms("événements", Locale::Fr),
        terms("evenements", Locale::Fr)
    );
    assert_eq!(terms("l'argent a", Locale::Fr), ["argent"]);
    // Positive control: different words stay different.
    assert_ne!(terms("refund", Locale::En), terms("return", Locale::En));
}

#[test]
fn the_article_about_the_words_ranks_first_in_either_language() {
    let index = SearchIndex::of(&fixture());
    assert_eq!(index.len(), 32);
    let fr = index.search(&query("remboursement", Some(Locale::Fr), true));
    assert_eq!(
        fr.first().map(|h| h.id.as_str()),
        Some("fr-remboursements"),
        "{fr:?}"
    );
    assert!(ids(&fr).contains(&"fr-suivi-remboursement"), "{fr:?}");
    assert!(fr.iter().all(|h| h.locale == Locale::Fr));
    let en = index.search(&query("how do I get a refund", Some(Locale::En), true));
    assert_eq!(
        en.first().map(|h| h.id.as_str()),
        Some("en-refunds"),
        "{en:?}"
    );
    let password = index.search(&query("forgot my password", None, true));
    assert_eq!(ids(&password)[..1], ["en-password"], "{password:?}");
    let mot_de_passe = index.search(&query("mot de passe oublié", Some(Locale::Fr), true));
    assert_eq!(
        ids(&mot_de_passe)[..1],
        ["fr-mot-de-passe"],
        "{mot_de_passe:?}"
    );
    assert!(index
        .search(&query("zebra quantum", None, false))
        .is_empty());
    assert!(index.search(&query("?!", None, false)).is_empty());
    // Scores go down the list.
    assert!(fr.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn an_unpublished_article_reaches_staff_only() {
    let index = SearchIndex::of(&fixture());
    let staff = index.search(&query("cartes cadeaux", Some(Locale::Fr), false));
    assert_eq!(ids(&staff)[..1], ["fr-remboursements-brouillon"]);
    let public = index.search(&query("cartes cadeaux", Some(Locale::Fr), true));
    assert!(
        !ids(&public).contains(&"fr-remboursements-brouillon"),
        "{public:?}"
    );
    let public = index.search(&query("gift card refunds draft", None, true));
    assert!(!ids(&public).contains(&"en-refund-draft"), "{public:?}");
}

#[test]
fn the_index_follows_changes_and_survives_serialisation() {
    let mut articles = fixture();
    let mut index = SearchIndex::of(&articles);
    // Retitled and rewritten: the old words no longer find it, the new ones do.
    articles[2].title = "Locked out of your account".into();
    articles[2].body = "Too many sign-in attempts lock the account for fifteen minutes.".into();
    index.upsert(&articles[2]);
    assert_eq!(index.len(), 32);
    let locked = index.search(&query("locked out", Some(Locale::En), true));
    assert_eq!(ids(&locked)[..1], ["en-password"]);
    let forgot = index.search(&query("forgot password", Some(Locale::En), true));
    assert!(!ids(&forgot).contains(&"en-password"), "{forgot:?}");
    assert!(index.remove("en-password"));
    assert!(!index.remove("en-password"));
    assert!(index
        .search(&query("locked out", Some(Locale::En), true))
        .is_empty());
    let back = SearchIndex::from_json(&index.to_json()).unwrap();
    assert_eq!(
        back.search(&query("remboursement", None, true)),
        index.search(&query("remboursement", None, true))
    );
    // The rebuilt id map lets the read-back index replace an article too.
    let mut back = back;
    back.upsert(&articles[0]);
    assert_eq!(back.len(), 31);
}

#[test]
fn a_snippet_is_the_prose_around_the_words() {
    let refunds = &fixture()[0];
    assert_eq!(
        plain_text("See [our policy](https://x.example/p) and **bold** `code`"),
        "See our policy and bold code"
    );
    let cut = snippet(&refunds.body, &terms("card", Locale::En), Locale::En);
    assert!(cut.contains("card you used"), "{cut}");
    assert!(cut.starts_with('…') && cut.ends_with('…'), "{cut}");
    assert!(cut.chars().count() <= 200, "{cut}");
    assert!(!cut.contains("https"), "{cut}");
    let opening = snippet(&refunds.body, &terms("zebra", Locale::En), Locale::En);
    assert!(opening.starts_with("Refunds You can ask"), "{opening}");
    assert_eq!(snippet("", &[], Locale::En), "");
}

#[test]
fn content_words_drop_what_every_sentence_says_in_both_languages() {
    use super::text::content_words;
    assert_eq!(
        content_words("Hello, is anybody there?", Locale::En),
        "hello anybody"
    );
    assert_eq!(
        content_words("How do I get a refund for my order?", Locale::En),
        "get refund order"
    );
    assert_eq!(
        content_words("Je voudrais être remboursé de ma commande", Locale::Fr),
        "voudrais être remboursé commande"
    );
    // Nothing left of a sentence of such words.
    assert_eq!(content_words("Is it there?", Locale::En), "");
}
