//! Attachments (R7, R18, R19): admission of a declared file, the scoped object key, and the
//! inspection of the stored bytes (real size, content sniffed against the extension, zip
//! entries, zip bombs, path traversal). Pure functions: no storage, no AWS types.

use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

use crate::ids::is_valid_id;

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

/// Whether the whole object must be read to judge it (text formats and zip containers);
/// otherwise the first [`SNIFF_BYTES`] suffice.
pub fn needs_whole_object(extension: &str) -> bool {
    matches!(kind_of(extension), Kind::Text(_) | Kind::Zip(_))
}

/// What the inspection of the stored bytes decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean { download_only: bool },
    Rejected(RejectReason),
}

/// Why stored bytes were rejected (stable codes shown to clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// Nothing was uploaded.
    Missing,
    /// More bytes were stored than declared (or than R18 allows).
    SizeMismatch,
    /// The bytes are not what the extension says.
    ContentMismatch,
    /// A zip entry of a type R18 does not allow.
    ZipEntryNotAllowed(String),
    /// Too many entries, too many decompressed bytes or too high a ratio.
    ZipBomb,
    /// An entry name escaping the archive (`../`, absolute paths).
    ZipPathTraversal,
    /// Not a readable zip.
    ZipInvalid,
}

impl RejectReason {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "not_uploaded",
            Self::SizeMismatch => "size_mismatch",
            Self::ContentMismatch => "content_mismatch",
            Self::ZipEntryNotAllowed(_) => "zip_entry_not_allowed",
            Self::ZipBomb => "zip_bomb",
            Self::ZipPathTraversal => "zip_path_traversal",
            Self::ZipInvalid => "zip_invalid",
        }
    }
}

/// How a type is recognised.
#[derive(Clone, Copy)]
enum Kind {
    /// Magic bytes at the start.
    Magic(fn(&[u8]) -> bool),
    /// UTF-8 text without NUL bytes, with an optional check of its start.
    Text(fn(&str) -> bool),
    /// A zip container: `true` when every entry must itself be allowed (plain `.zip`),
    /// `false` for formats built on zip (docx, odt, iWork…).
    Zip(bool),
}

fn starts(bytes: &[u8], magic: &[u8]) -> bool {
    bytes.starts_with(magic)
}

/// ISO base media (mp4, mov, 3gp, heic…): a box header whose type is a known top-level box.
fn iso_media(b: &[u8]) -> bool {
    b.len() >= 12
        && matches!(
            &b[4..8],
            b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip"
        )
}

fn riff(b: &[u8], form: &[u8; 4]) -> bool {
    b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == form
}

fn mpeg_audio(b: &[u8]) -> bool {
    starts(b, b"ID3") || (b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0)
}

fn any_text(_: &str) -> bool {
    true
}

fn xml_text(text: &str) -> bool {
    text.trim_start().starts_with('<')
}

fn svg_text(text: &str) -> bool {
    xml_text(text) && text.contains("<svg")
}

fn kind_of(extension: &str) -> Kind {
    match extension {
        "png" => Kind::Magic(|b| starts(b, b"\x89PNG\r\n\x1a\n")),
        "jpg" | "jpeg" | "jfif" => Kind::Magic(|b| starts(b, b"\xFF\xD8\xFF")),
        "gif" => Kind::Magic(|b| starts(b, b"GIF87a") || starts(b, b"GIF89a")),
        "bmp" => Kind::Magic(|b| starts(b, b"BM")),
        "tif" | "tiff" => Kind::Magic(|b| starts(b, b"II*\0") || starts(b, b"MM\0*")),
        "webp" => Kind::Magic(|b| riff(b, b"WEBP")),
        "wav" => Kind::Magic(|b| riff(b, b"WAVE")),
        "avi" => Kind::Magic(|b| riff(b, b"AVI ")),
        "pdf" => Kind::Magic(|b| starts(b, b"%PDF-")),
        "7z" => Kind::Magic(|b| starts(b, b"7z\xBC\xAF\x27\x1C")),
        "doc" | "xls" | "ppt" | "pps" => {
            Kind::Magic(|b| starts(b, b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"))
        }
        "mp3" | "mpga" => Kind::Magic(mpeg_audio),
        "aac" => Kind::Magic(|b| {
            starts(b, b"ADIF")
                || starts(b, b"ID3")
                || (b.len() >= 2 && b[0] == 0xFF && b[1] & 0xF6 == 0xF0)
        }),
        "amr" => Kind::Magic(|b| starts(b, b"#!AMR")),
        "mp4" | "m4a" | "m4v" | "mp4a" | "mov" | "qt" | "3gp" | "3g2" | "heic" | "heif" => {
            Kind::Magic(iso_media)
        }
        "mpeg" | "mpg" => Kind::Magic(|b| starts(b, b"\0\0\x01\xBA") || starts(b, b"\0\0\x01\xB3")),
        "ogg" | "oga" | "ogv" | "opus" => Kind::Magic(|b| starts(b, b"OggS")),
        "webm" => Kind::Magic(|b| starts(b, b"\x1A\x45\xDF\xA3")),
        "wmv" => Kind::Magic(|b| starts(b, b"\x30\x26\xB2\x75\x8E\x66\xCF\x11")),
        "txt" | "log" | "csv" | "eml" | "yaml" | "yml" | "neon" => Kind::Text(any_text),
        "ics" => Kind::Text(|t| {
            t.trim_start()
                .to_ascii_uppercase()
                .starts_with("BEGIN:VCALENDAR")
        }),
        "vcf" => Kind::Text(|t| {
            t.trim_start()
                .to_ascii_uppercase()
                .starts_with("BEGIN:VCARD")
        }),
        "xml" => Kind::Text(xml_text),
        "svg" => Kind::Text(svg_text),
        "docx" | "xlsx" | "pptx" | "ppsx" | "odt" | "key" | "numbers" | "pages" => Kind::Zip(false),
        "zip" => Kind::Zip(true),
        // Not reachable for admitted files; unknown means not allowed.
        _ => Kind::Magic(|_| false),
    }
}

/// R19: judges stored bytes. `content` is the whole object when [`needs_whole_object`] says so,
/// else at least its first [`SNIFF_BYTES`]; `stored_size` is the object's real size.
pub fn inspect(extension: &str, declared_size: u64, stored_size: u64, content: &[u8]) -> Verdict {
    if stored_size == 0 {
        return Verdict::Rejected(RejectReason::Missing);
    }
    // moto (and a misconfigured bucket) accept bodies beyond the signed policy: the real size
    // is checked here, on its own.
    if stored_size > declared_size || stored_size > MAX_ATTACHMENT_BYTES {
        return Verdict::Rejected(RejectReason::SizeMismatch);
    }
    match sniff(extension, content) {
        Ok(()) => Verdict::Clean {
            download_only: extension == "svg",
        },
        Err(reason) => Verdict::Rejected(reason),
    }
}

fn sniff(extension: &str, content: &[u8]) -> Result<(), RejectReason> {
    match kind_of(extension) {
        Kind::Magic(matches) => matches(content)
            .then_some(())
            .ok_or(RejectReason::ContentMismatch),
        Kind::Text(check) => {
            let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
            let text = std::str::from_utf8(content).map_err(|_| RejectReason::ContentMismatch)?;
            (!text.contains('\0') && check(text))
                .then_some(())
                .ok_or(RejectReason::ContentMismatch)
        }
        Kind::Zip(entries_must_be_allowed) => inspect_zip(content, entries_must_be_allowed),
    }
}

/// Whether a zip entry name could escape the directory it is extracted into.
fn escapes(name: &str) -> bool {
    let normalized = name.replace('\\', "/");
    normalized.starts_with('/')
        || normalized.as_bytes().get(1) == Some(&b':')
        || normalized.split('/').any(|part| part == "..")
}

fn inspect_zip(content: &[u8], entries_must_be_allowed: bool) -> Result<(), RejectReason> {
    if !content.starts_with(b"PK\x03\x04") {
        return Err(RejectReason::ContentMismatch);
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(content)).map_err(|_| RejectReason::ZipInvalid)?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(RejectReason::ZipBomb);
    }
    // Names first: a traversal is reported as such even in an archive that is also a bomb.
    for name in archive.file_names() {
        let Ok(name) = name else {
            return Err(RejectReason::ZipInvalid);
        };
        if escapes(&name) || name.chars().any(|c| c.is_control()) {
            return Err(RejectReason::ZipPathTraversal);
        }
    }
    let budget = MAX_ZIP_UNCOMPRESSED_BYTES
        .min((content.len() as u64).saturating_mul(MAX_ZIP_RATIO))
        .max(1);
    let mut total: u64 = 0;
    let mut buffer = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|_| RejectReason::ZipInvalid)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map_err(|_| RejectReason::ZipInvalid)?
            .to_string();
        // Headers can lie: decompress for real, never past the remaining budget.
        buffer.clear();
        let remaining = budget - total;
        (&mut entry)
            .take(remaining + 1)
            .read_to_end(&mut buffer)
            .map_err(|_| RejectReason::ZipInvalid)?;
        total += buffer.len() as u64;
        if total > budget {
            return Err(RejectReason::ZipBomb);
        }
        if entries_must_be_allowed {
            let base = name.rsplit('/').next().unwrap_or(&name);
            let extension = extension_of(base).unwrap_or_default();
            // Nested archives are refused: each level would multiply the inspection cost.
            if extension == "zip" || !ALLOWED_EXTENSIONS.contains(&extension.as_str()) {
                return Err(RejectReason::ZipEntryNotAllowed(name));
            }
            if sniff(&extension, &buffer).is_err() {
                return Err(RejectReason::ZipEntryNotAllowed(name));
            }
        }
    }
    Ok(())
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

/// The parts of an S3 event notification this product reads (S3 adds many more fields).
#[derive(Debug, Deserialize)]
pub struct S3EventNotification {
    /// Absent in the `s3:TestEvent` S3 sends when notifications are configured.
    #[serde(rename = "Records", default)]
    pub records: Vec<S3EventRecord>,
}

#[derive(Debug, Deserialize)]
pub struct S3EventRecord {
    #[serde(rename = "eventName")]
    pub event_name: String,
    pub s3: S3EventEntity,
}

#[derive(Debug, Deserialize)]
pub struct S3EventEntity {
    pub object: S3EventObject,
}

#[derive(Debug, Deserialize)]
pub struct S3EventObject {
    /// URL-encoded as in S3's notifications (`+` for a space).
    pub key: String,
}

impl S3EventRecord {
    /// The object key, decoded.
    pub fn object_key(&self) -> String {
        form_urlencoded::parse(format!("k={}", self.s3.object.key).as_bytes())
            .next()
            .map(|(_, key)| key.into_owned())
            .unwrap_or_default()
    }

    pub fn is_object_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated:")
    }
}

/// An `ObjectCreated:Put` notification in S3's format (the in-memory bucket emits these).
pub fn object_created_event(bucket: &str, key: &str, size: u64) -> String {
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket}, "object": {"key": encoded, "size": size}}
        }]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn content_disposition_is_always_an_attachment_with_a_safe_name() {
        let header = content_disposition("my \"report\".pdf");
        assert!(header.starts_with("attachment; filename=\"my _report_.pdf\""));
        assert!(header.ends_with("filename*=UTF-8''my%20%22report%22.pdf"));
    }

    fn request(name: &str, size: i64) -> AdmitRequest {
        AdmitRequest {
            file_name: name.into(),
            content_type: "application/octet-stream".into(),
            size,
            private: false,
        }
    }

    #[test]
    fn every_allowed_extension_is_admitted_in_any_case() {
        for extension in ALLOWED_EXTENSIONS {
            assert_eq!(
                admit(&request(&format!("f.{extension}"), 10)).as_deref(),
                Ok(*extension)
            );
            let upper = format!("F.{}", extension.to_uppercase());
            assert_eq!(admit(&request(&upper, 10)).as_deref(), Ok(*extension));
        }
    }

    #[test]
    fn dangerous_names_are_refused() {
        for (name, expected) in [
            ("invoice.pdf.exe", "exe"),
            ("run.sh", "sh"),
            ("page.html", "html"),
            ("a.js", "js"),
        ] {
            assert_eq!(
                admit(&request(name, 10)),
                Err(AdmissionError::ExtensionNotAllowed(expected.into()))
            );
        }
        for name in [
            "a\0.png",
            "a\n.png",
            "../a.png",
            "dir/a.png",
            "a\\b.png",
            "x.exe.",
            "noext",
            "",
        ] {
            assert!(admit(&request(name, 10)).is_err(), "{name:?} admitted");
        }
        assert!(admit(&request(".png", 10)).is_err());
    }

    #[test]
    fn sizes_outside_one_byte_to_fifty_megabytes_are_refused() {
        assert_eq!(
            admit(&request("a.png", 0)),
            Err(AdmissionError::InvalidSize)
        );
        assert_eq!(
            admit(&request("a.png", -1)),
            Err(AdmissionError::InvalidSize)
        );
        let over = MAX_ATTACHMENT_BYTES as i64 + 1;
        assert_eq!(
            admit(&request("a.png", over)),
            Err(AdmissionError::InvalidSize)
        );
        assert!(admit(&request("a.png", MAX_ATTACHMENT_BYTES as i64)).is_ok());
    }

    #[test]
    fn object_created_events_round_trip_their_key() {
        let key = object_key(
            "acct 1",
            &crate::ids::new_id("c"),
            &crate::ids::new_id("att"),
        );
        let event: S3EventNotification =
            serde_json::from_str(&object_created_event("b", &key, 3)).expect("parses");
        assert!(event.records[0].is_object_created());
        assert_eq!(event.records[0].object_key(), key);
        let test_event: S3EventNotification =
            serde_json::from_str(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#)
                .expect("parses");
        assert!(test_event.records.is_empty());
    }

    #[test]
    fn object_keys_round_trip_and_reject_foreign_shapes() {
        let key = object_key(
            "acct_1",
            &crate::ids::new_id("c"),
            &crate::ids::new_id("att"),
        );
        let (account, conversation, attachment) = parse_object_key(&key).expect("parses");
        assert_eq!(object_key(&account, &conversation, &attachment), key);
        assert_eq!(parse_object_key("a/x/y/z"), None);
        assert_eq!(parse_object_key("other/key"), None);
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            writer.start_file(*name, options).expect("start entry");
            writer.write_all(data).expect("write entry");
        }
        writer.finish().expect("finish zip").into_inner()
    }

    fn verdict(extension: &str, content: &[u8]) -> Verdict {
        inspect(
            extension,
            content.len() as u64,
            content.len() as u64,
            content,
        )
    }

    #[test]
    fn content_must_match_the_extension() {
        let png = b"\x89PNG\r\n\x1a\n0000";
        assert_eq!(
            verdict("png", png),
            Verdict::Clean {
                download_only: false
            }
        );
        assert_eq!(
            verdict("png", b"<html><script>alert(1)</script></html>"),
            Verdict::Rejected(RejectReason::ContentMismatch)
        );
        assert_eq!(
            verdict("pdf", b"MZ\x90\0\x03\0\0\0"),
            Verdict::Rejected(RejectReason::ContentMismatch)
        );
        assert_eq!(
            verdict("txt", b"hello\n"),
            Verdict::Clean {
                download_only: false
            }
        );
        assert_eq!(
            verdict("txt", b"he\0llo"),
            Verdict::Rejected(RejectReason::ContentMismatch)
        );
        assert_eq!(
            verdict("csv", b"\xff\xfe"),
            Verdict::Rejected(RejectReason::ContentMismatch)
        );
        assert_eq!(
            verdict("svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            Verdict::Clean {
                download_only: true
            }
        );
    }

    #[test]
    fn more_bytes_than_declared_are_rejected() {
        let png = b"\x89PNG\r\n\x1a\n0000";
        assert_eq!(
            inspect("png", 4, png.len() as u64, png),
            Verdict::Rejected(RejectReason::SizeMismatch)
        );
        assert_eq!(
            inspect("png", 4, 0, b""),
            Verdict::Rejected(RejectReason::Missing)
        );
    }

    #[test]
    fn zips_are_opened_and_every_entry_checked() {
        let good = zip_of(&[
            ("notes.txt", b"hi"),
            ("dir/pic.png", b"\x89PNG\r\n\x1a\nxx"),
        ]);
        assert_eq!(
            verdict("zip", &good),
            Verdict::Clean {
                download_only: false
            }
        );
        let exe = zip_of(&[("notes.txt", b"hi"), ("setup.exe", b"MZ")]);
        assert_eq!(
            verdict("zip", &exe),
            Verdict::Rejected(RejectReason::ZipEntryNotAllowed("setup.exe".into()))
        );
        let disguised = zip_of(&[("pic.png", b"MZ\x90\0")]);
        assert!(matches!(
            verdict("zip", &disguised),
            Verdict::Rejected(RejectReason::ZipEntryNotAllowed(_))
        ));
        let traversal = zip_of(&[("../../etc/passwd.txt", b"x")]);
        assert_eq!(
            verdict("zip", &traversal),
            Verdict::Rejected(RejectReason::ZipPathTraversal)
        );
        let bomb = zip_of(&[("big.txt", &vec![b'a'; 5 * 1024 * 1024])]);
        assert_eq!(
            verdict("zip", &bomb),
            Verdict::Rejected(RejectReason::ZipBomb)
        );
        assert_eq!(
            verdict("zip", b"PK\x03\x04garbage"),
            Verdict::Rejected(RejectReason::ZipInvalid)
        );
        // Office documents are zip containers whose entries need not be R18 types.
        let docx = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<R/>"),
        ]);
        assert_eq!(
            verdict("docx", &docx),
            Verdict::Clean {
                download_only: false
            }
        );
    }
}
