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

/// An id of the shape [`new_id`] mints with `$prefix`, parsed where it comes in (a request's
/// path): what cannot be one is a plain 404 at the edge and never reaches a use case or a key.
macro_rules! minted_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn parse(id: &str) -> Option<Self> {
                is_valid_id(Self::PREFIX, id).then(|| Self(id.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

minted_id!(
    /// A conversation's id (`c_` and 32 hex digits).
    ConversationId,
    "c"
);
minted_id!(
    /// An attachment's id (`att_` and 32 hex digits).
    AttachmentId,
    "att"
);

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
    fn a_conversation_id_parses_only_from_a_conversations_shape() {
        let minted = new_id("c");
        assert_eq!(
            ConversationId::parse(&minted).map(|id| id.to_string()),
            Some(minted)
        );
        for not_one in [
            new_id("m"),
            "c_1".into(),
            String::new(),
            "c_".to_string() + &"g".repeat(32),
        ] {
            assert_eq!(ConversationId::parse(&not_one), None, "{not_one}");
        }
    }

    #[test]
    fn an_attachment_id_parses_only_from_an_attachments_shape() {
        let minted = new_id("att");
        assert_eq!(
            AttachmentId::parse(&minted).map(|id| id.to_string()),
            Some(minted)
        );
        for not_one in [new_id("c"), "att_1".into(), "att_../x".into()] {
            assert_eq!(AttachmentId::parse(&not_one), None, "{not_one}");
        }
    }

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
