//! Discourse's fixtures (`tests/fixtures/email-replies/`, MIT): each `*.email.txt` trimmed is
//! its `*.trimmed.txt`.

use super::trim_reply;

fn fixtures() -> Vec<(String, String, String)> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/email-replies"
    );
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the fixtures") {
        let path = entry.expect("a fixture").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".email.txt") else {
            continue;
        };
        let email = std::fs::read_to_string(&path).unwrap();
        let trimmed =
            std::fs::read_to_string(path.with_file_name(format!("{stem}.trimmed.txt"))).unwrap();
        all.push((stem.to_string(), email, trimmed));
    }
    all.sort();
    all
}

#[test]
fn every_fixture_trims_to_what_the_end_user_wrote() {
    let all = fixtures();
    assert!(all.len() >= 40, "{} fixtures", all.len());
    let failed: Vec<String> = all
        .iter()
        .filter(|(_, email, trimmed)| trim_reply(email) != trimmed.trim())
        .map(|(name, email, trimmed)| {
            format!(
                "{name}:\n--- got\n{}\n--- wanted\n{}",
                trim_reply(email),
                trimmed.trim()
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} differ:\n{}",
        failed.len(),
        all.len(),
        failed.join("\n\n")
    );
}

#[test]
fn french_and_english_clients_quotes_and_signatures_go() {
    let gmail_fr = "Merci, c'est réglé.\n\nLe lun. 7 déc. 2026 à 10:00, Support Acme <reply@acme.test> a écrit :\n> Votre remboursement est parti.\n";
    assert_eq!(trim_reply(gmail_fr), "Merci, c'est réglé.");
    let outlook = "Thanks, that works.\r\n\r\nGet Outlook for iOS\r\n________________________________\r\nFrom: Acme Support <reply@acme.test>\r\nSent: Monday, December 7, 2026 10:00 AM\r\nTo: Ada <ada@example.com>\r\nSubject: Re: Your refund\r\n\r\nYour refund is on its way.\r\n";
    assert_eq!(trim_reply(outlook), "Thanks, that works.");
    let iphone_fr = "D'accord !\n\nEnvoyé depuis mon iPhone\n\n> Le 7 déc. 2026 à 10:00, Support Acme <reply@acme.test> a écrit :\n>\n> Bonjour";
    assert_eq!(trim_reply(iphone_fr), "D'accord !");
}
