//! The object store (the attachments bucket): sizes, bounded reads, deletes and the signed URLs
//! that let a client upload and download without passing through a function.

use super::*;
use crate::ports::ObjectStore;

/// Puts bytes in the bucket the way a finished client upload does (S3: `PutObject`; in memory:
/// what the gateway does with an accepted signed `PUT`). Uploading through the signed target
/// itself is HTTP, tested end to end in the attachment API tests.
#[async_trait::async_trait]
pub trait PutObject: Send + Sync {
    async fn put(&self, key: &str, bytes: Vec<u8>);
}

/// An object store adapter and the way its tests put objects in it.
pub struct ObjectsUnderTest {
    pub objects: Arc<dyn ObjectStore>,
    pub put: Arc<dyn PutObject>,
}

fn fresh_key() -> String {
    format!("contract/{}/{}", fresh_account(), new_id("att"))
}

pub async fn missing_object_has_no_size_and_deleting_it_succeeds(under_test: ObjectsUnderTest) {
    let key = fresh_key();
    assert_eq!(under_test.objects.object_head(&key).await.unwrap(), None);
    under_test.objects.delete(&key).await.unwrap();
    assert_eq!(under_test.objects.object_head(&key).await.unwrap(), None);
}

/// The size and version tag of what is stored now.
async fn head(objects: &dyn ObjectStore, key: &str) -> crate::ports::ObjectHead {
    objects
        .object_head(key)
        .await
        .unwrap()
        .expect("an object is stored")
}

pub async fn stored_object_reports_its_size_reads_a_bounded_prefix_and_deletes(
    under_test: ObjectsUnderTest,
) {
    let key = fresh_key();
    let bytes: Vec<u8> = (0u8..=99).collect();
    under_test.put.put(&key, bytes.clone()).await;
    let objects = &under_test.objects;
    let stored = head(objects.as_ref(), &key).await;
    assert_eq!(stored.size, 100);
    assert_eq!(
        objects.read_prefix(&key, 4, &stored.etag).await.unwrap(),
        vec![0, 1, 2, 3]
    );
    assert_eq!(
        objects
            .read_prefix(&key, 1_000, &stored.etag)
            .await
            .unwrap(),
        bytes
    );
    objects.delete(&key).await.unwrap();
    assert_eq!(objects.object_head(&key).await.unwrap(), None);
    // Deleting twice is not an error: a validator retried after its delete must not fail.
    objects.delete(&key).await.unwrap();
}

pub async fn replaced_object_reports_the_new_bytes_under_a_new_tag(under_test: ObjectsUnderTest) {
    let key = fresh_key();
    under_test.put.put(&key, b"first version".to_vec()).await;
    let objects = &under_test.objects;
    let first = head(objects.as_ref(), &key).await;
    under_test.put.put(&key, b"second".to_vec()).await;
    let second = head(objects.as_ref(), &key).await;
    assert_eq!(second.size, 6);
    assert_ne!(second.etag, first.etag);
    assert_eq!(
        objects.read_prefix(&key, 64, &second.etag).await.unwrap(),
        b"second".to_vec()
    );
    // A read for the version measured before the replacement reads nothing.
    assert!(matches!(
        objects.read_prefix(&key, 64, &first.etag).await,
        Err(StoreError::Conflict)
    ));
}

/// R30's copy: only the version that was inspected reaches the validated key.
pub async fn copy_takes_only_the_version_named(under_test: ObjectsUnderTest) {
    let (key, copy) = (fresh_key(), fresh_key());
    under_test.put.put(&key, b"inspected bytes".to_vec()).await;
    let objects = &under_test.objects;
    let inspected = head(objects.as_ref(), &key).await;
    under_test.put.put(&key, b"swapped in later".to_vec()).await;
    assert!(matches!(
        objects
            .copy_if_unchanged(&key, &copy, &inspected.etag)
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(objects.object_head(&copy).await.unwrap(), None);
    let current = head(objects.as_ref(), &key).await;
    objects
        .copy_if_unchanged(&key, &copy, &current.etag)
        .await
        .unwrap();
    let copied = head(objects.as_ref(), &copy).await;
    assert_eq!(
        objects.read_prefix(&copy, 64, &copied.etag).await.unwrap(),
        b"swapped in later".to_vec()
    );
    // Replacing the original afterwards leaves the copy as it was.
    under_test.put.put(&key, b"third".to_vec()).await;
    assert_eq!(head(objects.as_ref(), &copy).await, copied);
}

pub async fn upload_target_is_for_its_key_and_expires_after_its_ttl(under_test: ObjectsUnderTest) {
    let key = fresh_key();
    let before = domain::now_ms();
    let target = under_test
        .objects
        .upload_target(&key, "image/png", 1_024, 900)
        .await
        .unwrap();
    let after = domain::now_ms();
    assert!(
        target.method == "POST" || target.method == "PUT",
        "{}",
        target.method
    );
    // A browser form needs the key in a field (POST) or in the URL (PUT); either names it.
    let names_key = target.url.contains(&key) || target.fields.iter().any(|(_, v)| v == &key);
    assert!(names_key, "the target does not name {key}: {target:?}");
    // Whole seconds are enough: S3 policies are stamped to the second.
    assert!(
        target.expires_at >= before + 899_000 && target.expires_at <= after + 901_000,
        "expires_at {} not ~900 s after {before}",
        target.expires_at
    );
}

pub async fn download_urls_differ_per_key_and_name(under_test: ObjectsUnderTest) {
    let (first, second) = (fresh_key(), fresh_key());
    let objects = &under_test.objects;
    let url = |key: String, name: &'static str| {
        let objects = objects.clone();
        async move {
            objects
                .download_url(&key, name, "application/pdf", 300)
                .await
                .unwrap()
        }
    };
    let a = url(first.clone(), "a.pdf").await;
    let b = url(second.clone(), "a.pdf").await;
    let c = url(first.clone(), "c.pdf").await;
    assert!(a.contains(&first), "{a}");
    assert!(b.contains(&second), "{b}");
    assert_ne!(a, c, "the file name is part of what the URL grants");
}

pub async fn deleting_a_prefix_removes_every_object_under_it_and_nothing_else(
    under_test: ObjectsUnderTest,
) {
    let base = format!("contract/{}/", fresh_account());
    let (doomed, neighbour) = (format!("{base}c_1/"), format!("{base}c_10/"));
    let keys = [
        format!("{doomed}att_1"),
        format!("{doomed}att_2"),
        format!("{neighbour}att_3"),
    ];
    for key in &keys {
        under_test.put.put(key, b"bytes".to_vec()).await;
    }
    let objects = &under_test.objects;
    assert_eq!(objects.delete_prefix(&doomed).await.unwrap(), 2);
    for key in &keys[..2] {
        assert_eq!(objects.object_head(key).await.unwrap(), None);
    }
    // `c_1/` is not a prefix of `c_10/…`.
    assert!(objects.object_head(&keys[2]).await.unwrap().is_some());
    assert_eq!(objects.delete_prefix(&doomed).await.unwrap(), 0);
}

/// The product's own writes (an emailed file, R35): what is put is what is read.
pub async fn an_object_put_by_the_product_is_read_back_whole(under_test: ObjectsUnderTest) {
    let key = fresh_key();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    under_test
        .objects
        .put_object(&key, bytes.clone(), "application/pdf")
        .await
        .unwrap();
    let stored = head(under_test.objects.as_ref(), &key).await;
    assert_eq!(stored.size, bytes.len() as u64);
    let read = under_test
        .objects
        .read_prefix(&key, stored.size, &stored.etag)
        .await
        .unwrap();
    assert_eq!(read, bytes);
}
