//! How request bodies tell an absent field from one sent as `null`, for serde's
//! `deserialize_with` (`#[serde(default, deserialize_with = "crate::fields::present")]`).

use serde::{Deserialize, Deserializer};

/// `Some(value)` for a field that is present, even as `null` (`group: null` clears it);
/// with `#[serde(default)]` an absent field stays `None`.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}
