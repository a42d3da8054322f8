//! Attachments (R7, R18, R19): admission of a declared file, the scoped object key, and the
//! inspection of the stored bytes (real size, content sniffed against the extension, zip
//! entries, zip bombs, path traversal). Pure functions: no storage, no AWS types.
//!
//! `inspection` holds the second check (R19), `s3_events` the upload announcement's format.

use serde::{Deserialize, Serialize};

use crate::ids::is_valid_id;

mod inspection;
mod s3_events;

pub use inspection::*;
pub use s3_events::*;

/// R18: the largest file accepted, declared or stored.
pub const MAX_ATTACHMENT_BYTES: u64 = 50 * 1024 * 1024;

/// R18's extensions, exactly (zip is handled separately: allowed when every entry is).
pub const ALLOWED_EXTENSIONS: &[&str] = &[
    "3g2", "3gp", "7z", "aac", "amr", "avi", "bmp", "csv", "doc", "docx", "eml", "gif", "heic",
    "heif", "ics", "jfif", "jpeg", "jpg", "key", "log", "m4a", "m4v", "mov", "mp3", "mp4", "mp4a",
    "mpeg", "mpg", "mpga", "neon", "numbers", "odt", "oga", "ogg", "ogv", "opus", "pages", "pdf",
    "png", "pps", "ppsx", "ppt", "pptx", "qt", "svg", "tif", "tiff", "txt", "vcf", "wav", "webm",
    "webp", "wmv", "xls", "xlsx", "xml", "yaml", "yml", "zip",
];

/// Longest file name kept (bytes), as most file systems allow.
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// Zip limits: more entries, more decompressed bytes or a higher ratio is treated as a bomb.
pub const MAX_ZIP_ENTRIES: usize = 1_000;
pub const MAX_ZIP_UNCOMPRESSED_BYTES: u64 = 200 * 1024 * 1024;
pub const MAX_ZIP_RATIO: u64 = 100;

/// How long an upload target and a download URL stay valid.
pub const UPLOAD_URL_TTL_SECS: u64 = 15 * 60;
pub const DOWNLOAD_URL_TTL_SECS: u64 = 5 * 60;

/// Bytes read from the start of a binary file to sniff its type.
pub const SNIFF_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentStatus {
    /// Admitted; the bytes are not (yet) known to be safe.
    Pending,
    Clean,
    Rejected,
    /// Its message was redacted or its uploader erased: the bytes are deleted, nothing is
    /// served.
    Erased,
}

/// An admitted file of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub account_id: String,
    pub conversation_id: String,
    pub id: String,
    /// Token `sub` of whoever admitted it.
    pub uploader_id: String,
    /// As declared, after validation (no path, no control characters).
    pub file_name: String,
    /// Lower-case extension of `file_name`.
    pub extension: String,
    pub declared_content_type: String,
    pub declared_size: u64,
    /// Measured after upload.
    pub size: Option<u64>,
    pub status: AttachmentStatus,
    /// Why it was rejected (a stable code).
    pub reason: Option<String>,
    /// Never rendered inline by a browser (SVG can carry scripts).
    pub download_only: bool,
    pub object_key: String,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

/// The record of `attachment` once its bytes are deleted: its name goes too (a file name
/// often says whose file it was), its id, size and times stay for the conversation's record.
pub fn erased(attachment: &Attachment, at: i64) -> Attachment {
    Attachment {
        file_name: "erased".into(),
        status: AttachmentStatus::Erased,
        reason: Some("erased".into()),
        decided_at: Some(at),
        ..attachment.clone()
    }
}

/// What a new file's record says before its bytes are inspected: `declared` as admitted
/// (`extension` is [`admit`]'s answer), stored under [`object_key`].
pub struct NewFile<'a> {
    pub account_id: &'a str,
    pub conversation_id: &'a str,
    pub id: String,
    pub uploader_id: &'a str,
    pub declared: &'a AdmitRequest,
    pub extension: String,
    pub now: i64,
}

impl Attachment {
    /// A file admitted and not yet inspected (R19's second check decides it).
    pub fn pending(file: NewFile<'_>) -> Self {
        Self {
            object_key: object_key(file.account_id, file.conversation_id, &file.id),
            account_id: file.account_id.into(),
            conversation_id: file.conversation_id.into(),
            id: file.id,
            uploader_id: file.uploader_id.into(),
            file_name: file.declared.file_name.clone(),
            extension: file.extension,
            declared_content_type: file.declared.content_type.clone(),
            // `admit` checked 1..=50 MB.
            declared_size: file.declared.size.max(0) as u64,
            size: None,
            status: AttachmentStatus::Pending,
            reason: None,
            download_only: false,
            created_at: file.now,
            decided_at: None,
        }
    }
}

/// Body of `POST /v1/conversations/{cid}/attachments`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmitRequest {
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    #[serde(default)]
    pub private: bool,
}

/// Why an admission is refused; each maps to one API code (see `api`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("attachments are disabled for this account")]
    Disabled,
    #[error("private attachments are not available")]
    PrivateUnavailable,
    #[error("{0}")]
    InvalidFileName(String),
    #[error("files of type .{0} are not allowed")]
    ExtensionNotAllowed(String),
    #[error("the declared size must be between 1 byte and 50 MB")]
    InvalidSize,
    #[error("{0}")]
    InvalidContentType(String),
}

/// The lower-case final extension of a file name (`"a.tar.GZ"` → `"gz"`), if any.
pub fn extension_of(file_name: &str) -> Option<String> {
    let (stem, extension) = file_name.rsplit_once('.')?;
    if stem.trim().is_empty() || extension.is_empty() {
        return None;
    }
    Some(extension.to_ascii_lowercase())
}

/// R18 admission of a declared file: name, extension, size, privacy. Returns the extension.
pub fn admit(request: &AdmitRequest) -> Result<String, AdmissionError> {
    if request.private {
        return Err(AdmissionError::PrivateUnavailable);
    }
    let name = request.file_name.as_str();
    if name.trim().is_empty() || name.len() > MAX_FILE_NAME_BYTES {
        return Err(AdmissionError::InvalidFileName(format!(
            "file_name must be 1-{MAX_FILE_NAME_BYTES} bytes"
        )));
    }
    // NUL and other control characters truncate or disguise names in many tools; a path
    // separator would let a name pose as a path. Neither is a legitimate file name.
    if name.chars().any(|c| c.is_control()) {
        return Err(AdmissionError::InvalidFileName(
            "file_name contains control characters".into(),
        ));
    }
    if name.contains('/') || name.contains('\\') || name == "." || name == ".." {
        return Err(AdmissionError::InvalidFileName(
            "file_name must be a plain name, not a path".into(),
        ));
    }
    // The last extension decides: "invoice.pdf.exe" is an exe.
    let extension = extension_of(name.trim_end_matches([' ', '.']))
        .ok_or_else(|| AdmissionError::ExtensionNotAllowed(String::new()))?;
    if name.ends_with(' ') || name.ends_with('.') {
        // Windows drops trailing dots and spaces: "x.exe." would open as "x.exe".
        return Err(AdmissionError::InvalidFileName(
            "file_name must not end with a dot or a space".into(),
        ));
    }
    if !ALLOWED_EXTENSIONS.contains(&extension.as_str()) {
        return Err(AdmissionError::ExtensionNotAllowed(extension));
    }
    if request.size <= 0 || request.size as u64 > MAX_ATTACHMENT_BYTES {
        return Err(AdmissionError::InvalidSize);
    }
    let content_type = request.content_type.as_str();
    let valid_type = content_type.len() <= 255
        && content_type.split_once('/').is_some_and(|(kind, sub)| {
            !kind.is_empty()
                && !sub.is_empty()
                && content_type
                    .bytes()
                    .all(|b| b.is_ascii_graphic() || b == b' ')
        });
    if !valid_type {
        return Err(AdmissionError::InvalidContentType(
            "content_type must be a MIME type such as image/png".into(),
        ));
    }
    Ok(extension)
}

/// The object key of an attachment: tenant and conversation scoped, never the user's name.
pub fn object_key(account_id: &str, conversation_id: &str, attachment_id: &str) -> String {
    format!("{OBJECT_KEY_PREFIX}{account_id}/{conversation_id}/{attachment_id}")
}

/// Every attachment object lives under this prefix (bucket notifications filter on it).
pub const OBJECT_KEY_PREFIX: &str = "a/";

/// Validated bytes are copied under this prefix, and downloads are served only from there
/// (R30): an upload target can only name its `a/` key, so sending it again after the verdict
/// changes nothing anyone downloads.
pub const VALIDATED_KEY_PREFIX: &str = "v/";

/// Where the validated copy of the object at `object_key` lives.
pub fn validated_key(object_key: &str) -> String {
    let rest = object_key
        .strip_prefix(OBJECT_KEY_PREFIX)
        .unwrap_or(object_key);
    format!("{VALIDATED_KEY_PREFIX}{rest}")
}

/// The key prefixes of every file of a conversation: its uploads and their validated copies.
pub fn conversation_prefixes(account_id: &str, conversation_id: &str) -> [String; 2] {
    let uploads = format!("{OBJECT_KEY_PREFIX}{account_id}/{conversation_id}/");
    let validated = validated_key(&uploads);
    [uploads, validated]
}

/// A job for validate-attachment, next to the bucket's notifications on its queue: delete files
/// of a conversation (validate-attachment is the one function that deletes objects). Repeating
/// it is harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePurge {
    pub account_id: String,
    pub conversation_id: String,
    pub files: PurgedFiles,
}

/// Which files of the conversation a [`FilePurge`] deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PurgedFiles {
    /// Every file, uploaded or validated, sent or not: the conversation expired (`retention`).
    All,
    /// These attachments' upload and validated copy: their messages were redacted or erased.
    Attachments(Vec<String>),
}

impl FilePurge {
    /// The object keys (or, for `All`, the key prefixes) to delete.
    pub fn targets(&self) -> Vec<String> {
        match &self.files {
            PurgedFiles::All => {
                conversation_prefixes(&self.account_id, &self.conversation_id).into()
            }
            PurgedFiles::Attachments(ids) => ids
                .iter()
                .filter(|id| is_valid_id("att", id))
                .flat_map(|id| {
                    let key = object_key(&self.account_id, &self.conversation_id, id);
                    [validated_key(&key), key]
                })
                .collect(),
        }
    }
}

/// What validate-attachment's queue carries: the bucket's notifications and file purges, told
/// apart by their fields (a purge refuses unknown ones, so it is tried first).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AttachmentQueueMessage {
    Purge(FilePurge),
    Notification(S3EventNotification),
}

/// (account, conversation, attachment) of an object key made by [`object_key`].
pub fn parse_object_key(key: &str) -> Option<(String, String, String)> {
    let rest = key.strip_prefix(OBJECT_KEY_PREFIX)?;
    let (rest, attachment_id) = rest.rsplit_once('/')?;
    let (account_id, conversation_id) = rest.rsplit_once('/')?;
    (!account_id.is_empty()
        && is_valid_id("c", conversation_id)
        && is_valid_id("att", attachment_id))
    .then(|| {
        (
            account_id.into(),
            conversation_id.into(),
            attachment_id.into(),
        )
    })
}

/// The content type an attachment is served with: derived from its extension, never from what
/// the uploader declared; SVG (download-only) and unknown types as opaque bytes.
pub fn served_content_type(extension: &str) -> &'static str {
    match extension {
        "png" => "image/png",
        "jpg" | "jpeg" | "jfif" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "txt" | "log" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "mp3" | "mpga" => "audio/mpeg",
        "mp4" | "m4v" => "video/mp4",
        "m4a" | "mp4a" => "audio/mp4",
        "mov" | "qt" => "video/quicktime",
        "wav" => "audio/wav",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "ogv" => "video/ogg",
        "webm" => "video/webm",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// `attachment` with an ASCII fallback name and the exact name in RFC 5987 form.
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = form_urlencoded::byte_serialize(file_name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests;

/// Where a client sends a file's bytes: an HTTP request S3 itself checks (signature, expiry,
/// size limit).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UploadTarget {
    /// `POST` (multipart form with `fields`, the file last) or `PUT` (raw body with `headers`).
    pub method: String,
    pub url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// Epoch milliseconds.
    pub expires_at: i64,
}
