//! Opaque, unguessable identifiers (128 random bits, hex encoded behind a short type prefix).

/// A new identifier `"{prefix}_{32 hex digits}"`.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    // The OS random source failing is not recoverable for a service that must mint ids.
    getrandom::fill(&mut bytes).expect("operating system random source is unavailable");
    format!("{prefix}_{}", hex::encode(bytes))
}

/// Whether `id` has the shape of an id minted by [`new_id`] with this prefix. Ids from request
/// paths are checked before they reach a storage key, so a malformed id is a plain 404.
pub fn is_valid_id(prefix: &str, id: &str) -> bool {
    id.len() == prefix.len() + 33
        && id.starts_with(prefix)
        && id.as_bytes()[prefix.len()] == b'_'
        && id[prefix.len() + 1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Ids that end up inside storage keys: bounded, printable, no key separators.
pub fn is_safe_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_distinct_and_valid() {
        let a = new_id("c");
        let b = new_id("c");
        assert_ne!(a, b);
        assert!(is_valid_id("c", &a));
        assert!(!is_valid_id("m", &a));
        assert!(!is_valid_id("c", "c_../../etc"));
        assert!(!is_valid_id("c", &a.to_uppercase()));
    }
}
