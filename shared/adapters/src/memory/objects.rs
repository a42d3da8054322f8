//! The in-memory bucket of the local gateway: objects plus the signed, expiring upload and
//! download URLs it serves at `/_local/objects/` the way S3 serves presigned ones.

use super::*;
use domain::attachments::UploadTarget;

/// The in-memory attachments bucket. Its upload and download URLs point at the local gateway
/// (`/_local/objects/…`), signed with a per-process secret and checked there the way S3 checks
/// its own: signature, expiry, size limit. Every stored object is announced on `events` in
/// S3's notification format, as the real bucket's notification to SQS does.
pub struct MemoryObjects {
    objects: Mutex<HashMap<String, Vec<u8>>>,
    base_url: Mutex<String>,
    secret: String,
    events: Arc<dyn Queue>,
}

impl MemoryObjects {
    pub fn new(events: Arc<dyn Queue>) -> Self {
        Self {
            objects: Mutex::new(HashMap::new()),
            base_url: Mutex::new("http://127.0.0.1:3000".into()),
            secret: new_id("local-secret"),
            events,
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>>, StoreError> {
        self.objects
            .lock()
            .map_err(|_| StoreError::Internal("memory objects lock poisoned".into()))
    }

    fn signed_url(&self, key: &str, params: Vec<(&str, String)>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &params {
            query.append_pair(name, value);
        }
        let unsigned = query.finish();
        let signature = hex::encode(self.url_mac(key, &unsigned).finalize().into_bytes());
        let base = self.base_url.lock().map(|b| b.clone()).unwrap_or_default();
        format!("{base}{LOCAL_OBJECTS_PATH}{key}?{unsigned}&sig={signature}")
    }

    fn url_mac(&self, key: &str, unsigned_query: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes any key");
        mac.update(key.as_bytes());
        mac.update(b"?");
        mac.update(unsigned_query.as_bytes());
        mac
    }
}

#[async_trait]
impl LocalBucket for MemoryObjects {
    /// Where the gateway serving `/_local/objects/` listens (set once it has bound its port).
    fn set_base_url(&self, base_url: &str) {
        if let Ok(mut guard) = self.base_url.lock() {
            *guard = base_url.trim_end_matches('/').to_string();
        }
    }

    /// Checks a local object URL (`key` and its raw query string) as S3 checks a presigned one.
    fn verify(&self, key: &str, raw_query: &str, now_ms: i64) -> Option<LocalGrant> {
        let (unsigned, signature) = raw_query.rsplit_once("&sig=")?;
        let signature = hex::decode(signature).ok()?;
        // Constant-time comparison.
        self.url_mac(key, unsigned).verify_slice(&signature).ok()?;
        let params: HashMap<String, String> = form_urlencoded::parse(unsigned.as_bytes())
            .into_owned()
            .collect();
        let expires: i64 = params.get("expires")?.parse().ok()?;
        if expires < now_ms {
            return None;
        }
        match params.get("op")?.as_str() {
            "upload" => Some(LocalGrant::Upload {
                max_bytes: params.get("max")?.parse().ok()?,
            }),
            "download" => Some(LocalGrant::Download {
                disposition: params.get("disposition")?.clone(),
                content_type: params.get("type")?.clone(),
            }),
            _ => None,
        }
    }

    /// Stores an uploaded body and announces it (the gateway checked the grant).
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        let size = body.len();
        self.lock()?.insert(key.to_string(), body);
        let event =
            domain::attachments::object_created_event("relay-attachments-local", key, size as u64);
        self.events.send(&event, 0).await
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.get(key).cloned())
    }
}

#[async_trait]
impl ObjectStore for MemoryObjects {
    async fn upload_target(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        ttl_secs: u64,
    ) -> Result<UploadTarget, StoreError> {
        let expires_at = domain::now_ms() + (ttl_secs as i64) * 1000;
        let url = self.signed_url(
            key,
            vec![
                ("op", "upload".into()),
                ("max", max_bytes.to_string()),
                ("expires", expires_at.to_string()),
            ],
        );
        Ok(UploadTarget {
            method: "PUT".into(),
            url,
            fields: Vec::new(),
            headers: vec![("content-type".into(), content_type.into())],
            expires_at,
        })
    }

    async fn object_head(&self, key: &str) -> Result<Option<ObjectHead>, StoreError> {
        Ok(self.lock()?.get(key).map(|bytes| ObjectHead {
            size: bytes.len() as u64,
            etag: etag_of(bytes),
        }))
    }

    async fn read_prefix(
        &self,
        key: &str,
        max_bytes: u64,
        etag: &str,
    ) -> Result<Vec<u8>, StoreError> {
        let objects = self.lock()?;
        let object = objects.get(key).ok_or(StoreError::Conflict)?;
        if etag_of(object) != etag {
            return Err(StoreError::Conflict);
        }
        Ok(object[..object.len().min(max_bytes as usize)].to_vec())
    }

    async fn copy_if_unchanged(&self, from: &str, to: &str, etag: &str) -> Result<(), StoreError> {
        let mut objects = self.lock()?;
        let object = objects.get(from).ok_or(StoreError::Conflict)?;
        if etag_of(object) != etag {
            return Err(StoreError::Conflict);
        }
        let copy = object.clone();
        objects.insert(to.to_string(), copy);
        Ok(())
    }

    async fn put_object(
        &self,
        key: &str,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), StoreError> {
        LocalBucket::put(self, key, bytes).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock()?.remove(key);
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        let mut objects = self.lock()?;
        let before = objects.len();
        objects.retain(|key, _| !key.starts_with(prefix));
        Ok(before - objects.len())
    }

    async fn download_url(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        ttl_secs: u64,
    ) -> Result<String, StoreError> {
        let expires_at = domain::now_ms() + (ttl_secs as i64) * 1000;
        Ok(self.signed_url(
            key,
            vec![
                ("op", "download".into()),
                (
                    "disposition",
                    domain::attachments::content_disposition(file_name),
                ),
                ("type", content_type.into()),
                ("expires", expires_at.to_string()),
            ],
        ))
    }
}

/// What S3's ETag is for a simple upload: a digest of the bytes (here SHA-256, shortened).
fn etag_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(bytes)[..16])
}
