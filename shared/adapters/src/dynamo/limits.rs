//! DynamoDB's item and transaction limits (R32), checked before a request leaves: moto takes
//! items over 400 KB that DynamoDB refuses, and the in-memory store checks its items with the
//! same measure (`item_size` of the item this adapter would write), so a test on either sees
//! what AWS would refuse.
//!
//! Sizes as the DynamoDB developer guide ("Item sizes and formats") counts them: an attribute
//! is its name's UTF-8 bytes plus its value; a string its UTF-8 bytes, a binary its bytes, a
//! number about one byte per two significant digits plus one, a boolean or null one byte; a
//! list or map 3 bytes plus one per element, plus its elements (a map's names included).

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use domain::aws_limits::{
    LimitError, DYNAMODB_MAX_ITEM_BYTES, DYNAMODB_MAX_TRANSACTION_ACTIONS,
    DYNAMODB_MAX_TRANSACTION_BYTES,
};
use serde::Serialize;

use super::Item;
use crate::StoreError;

/// The size DynamoDB counts for `item`.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn number_size(number: &str) -> usize {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    significant.div_ceil(2) + 1
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(bytes) => bytes.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(entries) => {
            3 + entries
                .iter()
                .map(|(name, v)| 1 + name.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

fn too_large(error: LimitError) -> StoreError {
    StoreError::TooLarge(error.to_string())
}

/// Refuses an item DynamoDB would refuse.
pub fn check_item(item: &Item) -> Result<(), StoreError> {
    let size = item_size(item);
    if size > DYNAMODB_MAX_ITEM_BYTES {
        return Err(too_large(LimitError::ItemTooLarge(size)));
    }
    Ok(())
}

/// Refuses `value` when the item this adapter writes for it would be too large (for the
/// in-memory store, which keeps values, not items): its attributes as `serde_dynamo` writes
/// them, as `encode` does, the keys' few bytes aside.
pub fn check_value<T: Serialize>(value: &T) -> Result<(), StoreError> {
    let item: Item = serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Internal(format!("item encoding: {e}")))?;
    check_item(&item)
}

/// Refuses a transaction DynamoDB would refuse: too many actions, an item too large, or too
/// many bytes in all (the items put; updates and condition checks count their keys only).
pub fn check_transaction(items: &[TransactWriteItem]) -> Result<(), StoreError> {
    let mut bytes = 0;
    for action in items {
        if let Some(put) = action.put() {
            check_item(put.item())?;
            bytes += item_size(put.item());
        }
        if let Some(update) = action.update() {
            bytes += item_size(update.key());
        }
        if let Some(delete) = action.delete() {
            bytes += item_size(delete.key());
        }
        if let Some(check) = action.condition_check() {
            bytes += item_size(check.key());
        }
    }
    if items.len() > DYNAMODB_MAX_TRANSACTION_ACTIONS || bytes > DYNAMODB_MAX_TRANSACTION_BYTES {
        return Err(too_large(LimitError::TransactionTooLarge {
            actions: items.len(),
            bytes,
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn sizes_are_counted_as_the_developer_guide_says() {
        // "pk" (2) + "abc" (3); "n" (1) + 12345 (3 digit pairs → 3 + 1).
        assert_eq!(
            item_size(&item(&[("pk", AttributeValue::S("abc".into()))])),
            5
        );
        assert_eq!(
            item_size(&item(&[("n", AttributeValue::N("12345".into()))])),
            5
        );
        assert_eq!(
            item_size(&item(&[("n", AttributeValue::N("1000".into()))])),
            3
        );
        assert_eq!(item_size(&item(&[("b", AttributeValue::Bool(true))])), 2);
        // A list of two one-letter strings: 3 + (1 + 1) × 2.
        let list = AttributeValue::L(vec![
            AttributeValue::S("a".into()),
            AttributeValue::S("b".into()),
        ]);
        assert_eq!(item_size(&item(&[("l", list)])), 1 + 7);
        // UTF-8 bytes, not characters.
        assert_eq!(item_size(&item(&[("s", AttributeValue::S("é".into()))])), 3);
    }

    #[test]
    fn an_item_over_400_kb_is_refused_and_one_at_it_is_not() {
        let at = DYNAMODB_MAX_ITEM_BYTES - 2;
        assert!(check_item(&item(&[("pk", AttributeValue::S("x".repeat(at)))])).is_ok());
        let over = item(&[("pk", AttributeValue::S("x".repeat(at + 1)))]);
        assert!(matches!(check_item(&over), Err(StoreError::TooLarge(_))));
    }
}
