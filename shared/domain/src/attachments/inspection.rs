//! R19, second check: the stored bytes inspected against the declared file (real size,
//! content sniffed against the extension, zip entries, zip bombs, path traversal).

use std::io::{Cursor, Read};

use super::*;

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
    /// The archive holds bytes its central directory does not account for (an entry only
    /// local headers name, data before or after the entries), or a local header that names
    /// another file than the central directory does.
    ZipInconsistent,
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
            Self::ZipInconsistent => "zip_inconsistent",
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
        Kind::Zip(plain) => {
            let container = if plain {
                Container::Archive
            } else {
                Container::Office(office_extension(extension))
            };
            inspect_zip(
                content,
                container,
                &mut ZipBudget::for_archive(content.len()),
            )
        }
    }
}

/// Whether a zip entry name could escape the directory it is extracted into.
fn escapes(name: &str) -> bool {
    let normalized = name.replace('\\', "/");
    normalized.starts_with('/')
        || normalized.as_bytes().get(1) == Some(&b':')
        || normalized.split('/').any(|part| part == "..")
}

/// What one inspection of an archive may still decompress, across every nesting level: an
/// office file inside a zip draws on the zip's budget, not a fresh one (#19 item 3).
struct ZipBudget {
    bytes_left: u64,
    entries_left: usize,
}

impl ZipBudget {
    fn for_archive(compressed_len: usize) -> Self {
        Self {
            bytes_left: MAX_ZIP_UNCOMPRESSED_BYTES
                .min((compressed_len as u64).saturating_mul(MAX_ZIP_RATIO))
                .max(1),
            entries_left: MAX_ZIP_ENTRIES,
        }
    }
}

/// What an archive is supposed to be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    /// A plain `.zip`: every entry must itself be an allowed type (no archives).
    Archive,
    /// A format built on zip (`docx`, `odt`, iWork…), by extension: its parts are the
    /// format's XML, media and data, never a program, a macro project or another archive.
    Office(&'static str),
}

/// Magic numbers of programs, scripts and archives an office file never needs inside.
fn forbidden_in_office(name: &str, bytes: &[u8]) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    const MAGIC: &[&[u8]] = &[
        b"MZ",                 // Windows executables and DLLs
        b"\x7fELF",            // Linux executables
        b"\xcf\xfa\xed\xfe",   // Mach-O, 64-bit
        b"\xce\xfa\xed\xfe",   // Mach-O, 32-bit
        b"\xca\xfe\xba\xbe",   // Mach-O universal (and Java classes)
        b"#!",                 // scripts
        b"PK\x03\x04",         // nested zip-based files
        b"7z\xbc\xaf\x27\x1c", // 7-Zip
        b"Rar!",               // RAR
        b"\x1f\x8b",           // gzip
    ];
    // Macros: a document with a VBA project is a .docm/.xlsm, not what was declared.
    base == "vbaproject.bin" || MAGIC.iter().any(|magic| bytes.starts_with(magic))
}

/// Whether an office file has the part its format always has.
fn has_office_signature(
    extension: &str,
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
) -> Result<bool, RejectReason> {
    Ok(match extension {
        "docx" | "xlsx" | "pptx" | "ppsx" => {
            archive.index_for_name("[Content_Types].xml").is_some()
        }
        "odt" => {
            let Ok(mut entry) = archive.by_name("mimetype") else {
                return Ok(false);
            };
            let mut head = Vec::new();
            (&mut entry)
                .take(100)
                .read_to_end(&mut head)
                .map_err(|_| RejectReason::ZipInvalid)?;
            head.starts_with(b"application/vnd.oasis.opendocument.text")
        }
        // iWork bundles changed layout across versions; their parts are still checked.
        _ => true,
    })
}

fn inspect_zip(
    content: &[u8],
    container: Container,
    budget: &mut ZipBudget,
) -> Result<(), RejectReason> {
    if !content.starts_with(b"PK\x03\x04") {
        return Err(RejectReason::ContentMismatch);
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(content)).map_err(|_| RejectReason::ZipInvalid)?;
    if archive.len() > budget.entries_left {
        return Err(RejectReason::ZipBomb);
    }
    budget.entries_left -= archive.len();
    // Names first: a traversal is reported as such even in an archive that is also a bomb.
    for name in archive.file_names() {
        let Ok(name) = name else {
            return Err(RejectReason::ZipInvalid);
        };
        if escapes(&name) || name.chars().any(|c| c.is_control()) {
            return Err(RejectReason::ZipPathTraversal);
        }
    }
    check_layout(content, &mut archive)?;
    if let Container::Office(extension) = container {
        if !has_office_signature(extension, &mut archive)? {
            return Err(RejectReason::ContentMismatch);
        }
    }
    let mut buffer = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|_| RejectReason::ZipInvalid)?;
        let name = entry
            .name()
            .map_err(|_| RejectReason::ZipInvalid)?
            .to_string();
        // Extracted, a link points anywhere; no format we accept needs one.
        if entry.is_symlink() {
            return Err(RejectReason::ZipEntryNotAllowed(name));
        }
        if entry.is_dir() {
            continue;
        }
        // Headers can lie: decompress for real, never past the remaining budget.
        buffer.clear();
        (&mut entry)
            .take(budget.bytes_left + 1)
            .read_to_end(&mut buffer)
            .map_err(|_| RejectReason::ZipInvalid)?;
        if buffer.len() as u64 > budget.bytes_left {
            return Err(RejectReason::ZipBomb);
        }
        budget.bytes_left -= buffer.len() as u64;
        match container {
            Container::Archive => {
                let base = name.rsplit('/').next().unwrap_or(&name);
                let extension = extension_of(base).unwrap_or_default();
                // Nested plain archives are refused: each level multiplies the cost.
                if extension == "zip" || !ALLOWED_EXTENSIONS.contains(&extension.as_str()) {
                    return Err(RejectReason::ZipEntryNotAllowed(name));
                }
                // An office file inside is opened too, on what is left of this budget.
                let judged = match kind_of(&extension) {
                    Kind::Zip(false) => {
                        let office = office_extension(&extension);
                        inspect_zip(&buffer, Container::Office(office), budget)
                    }
                    _ => sniff(&extension, &buffer),
                };
                match judged {
                    Ok(()) => {}
                    Err(RejectReason::ZipBomb) => return Err(RejectReason::ZipBomb),
                    Err(_) => return Err(RejectReason::ZipEntryNotAllowed(name)),
                }
            }
            Container::Office(_) => {
                if forbidden_in_office(&name, &buffer) {
                    return Err(RejectReason::ZipEntryNotAllowed(name));
                }
            }
        }
    }
    Ok(())
}

/// The `'static` name of an office extension (`kind_of` says it is one).
fn office_extension(extension: &str) -> &'static str {
    const OFFICE: &[&str] = &[
        "docx", "xlsx", "pptx", "ppsx", "odt", "key", "numbers", "pages",
    ];
    OFFICE
        .iter()
        .find(|known| **known == extension)
        .copied()
        .unwrap_or("office")
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as usize)
}

/// #19 item 2: what the central directory lists must be all the archive holds, and each
/// local header must name the file its central entry names. Tools differ in which of the two
/// they read (extractors that walk local headers exist), so a difference is where a file can
/// hide: the entries' local records, in offset order, must tile the bytes from 0 to the
/// central directory exactly.
fn check_layout(
    content: &[u8],
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
) -> Result<(), RejectReason> {
    let inconsistent = || RejectReason::ZipInconsistent;
    if archive.offset() != 0 {
        return Err(inconsistent());
    }
    let mut records = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|_| RejectReason::ZipInvalid)?;
        let start = usize::try_from(entry.header_start()).map_err(|_| inconsistent())?;
        let header = content.get(start..).ok_or_else(inconsistent)?;
        if !header.starts_with(b"PK\x03\x04") {
            return Err(inconsistent());
        }
        let flags = u16_at(header, 6).ok_or_else(inconsistent)?;
        let name_len = u16_at(header, 26).ok_or_else(inconsistent)?;
        let extra_len = u16_at(header, 28).ok_or_else(inconsistent)?;
        let local_name = header.get(30..30 + name_len).ok_or_else(inconsistent)?;
        if local_name != entry.name_raw() {
            return Err(inconsistent());
        }
        let compressed = usize::try_from(entry.compressed_size()).map_err(|_| inconsistent())?;
        let data_end = start + 30 + name_len + extra_len + compressed;
        // A data descriptor (flag bit 3) follows the data: optional signature, CRC, sizes.
        let descriptor = if flags & 0x08 != 0 {
            let signed = content
                .get(data_end..data_end + 4)
                .is_some_and(|b| b == b"PK\x07\x08");
            let sizes = if compressed >= u32::MAX as usize {
                16
            } else {
                8
            };
            usize::from(signed) * 4 + 4 + sizes
        } else {
            0
        };
        records.push((start, data_end + descriptor));
    }
    records.sort_unstable();
    let mut expected = 0;
    for (start, end) in records {
        if start != expected {
            return Err(inconsistent());
        }
        expected = end;
    }
    let central = usize::try_from(archive.central_directory_start()).map_err(|_| inconsistent())?;
    if expected != central {
        return Err(inconsistent());
    }
    Ok(())
}

/// Whether the whole object must be read to judge it (text formats and zip containers);
/// otherwise the first [`SNIFF_BYTES`] suffice.
pub fn needs_whole_object(extension: &str) -> bool {
    matches!(kind_of(extension), Kind::Text(_) | Kind::Zip(_))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{verdict, zip_of};
    use super::*;

    const CONTENT_TYPES: &[u8] = b"<?xml version='1.0'?><Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'/>";

    /// A minimal .docx with `extra` parts.
    fn docx_with(extra: &[(&str, &[u8])]) -> Vec<u8> {
        let mut parts: Vec<(&str, &[u8])> = vec![
            ("[Content_Types].xml", CONTENT_TYPES),
            ("word/document.xml", b"<w:document/>"),
        ];
        parts.extend_from_slice(extra);
        zip_of(&parts)
    }

    fn not_allowed(name: &str) -> Verdict {
        Verdict::Rejected(RejectReason::ZipEntryNotAllowed(name.into()))
    }

    const CLEAN: Verdict = Verdict::Clean {
        download_only: false,
    };

    #[test]
    fn an_office_file_is_clean_with_its_own_parts_and_media() {
        let docx = docx_with(&[("word/media/image1.png", b"\x89PNG\r\n\x1a\nxx")]);
        assert_eq!(verdict("docx", &docx), CLEAN);
        // Inside a zip too.
        assert_eq!(verdict("zip", &zip_of(&[("report.docx", &docx)])), CLEAN);
        let odt = zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b"<office:document-content/>"),
        ]);
        assert_eq!(verdict("odt", &odt), CLEAN);
    }

    #[test]
    fn an_office_file_holding_a_program_is_refused_at_any_depth() {
        let docx = docx_with(&[("word/embeddings/setup.bin", b"MZ\x90\0\x03\0\0\0")]);
        assert_eq!(
            verdict("docx", &docx),
            not_allowed("word/embeddings/setup.bin")
        );
        assert_eq!(
            verdict("zip", &zip_of(&[("report.docx", &docx)])),
            not_allowed("report.docx")
        );
        for (name, bytes) in [
            ("run.sh", b"#!/bin/sh\nrm -rf /".as_slice()),
            ("lib.so", b"\x7fELF\x02\x01\x01".as_slice()),
            ("app", b"\xcf\xfa\xed\xfe\x07\0\0\x01".as_slice()),
            (
                "word/vbaProject.bin",
                b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".as_slice(),
            ),
        ] {
            assert_eq!(
                verdict("docx", &docx_with(&[(name, bytes)])),
                not_allowed(name)
            );
        }
    }

    #[test]
    fn an_office_file_holding_an_archive_is_refused() {
        let inner = zip_of(&[("payload.txt", b"hi")]);
        let docx = docx_with(&[("word/embeddings/package.zip", &inner)]);
        assert_eq!(
            verdict("docx", &docx),
            not_allowed("word/embeddings/package.zip")
        );
    }

    #[test]
    fn a_zip_renamed_to_an_office_extension_is_not_an_office_file() {
        let plain = zip_of(&[("notes.txt", b"hi")]);
        assert_eq!(
            verdict("docx", &plain),
            Verdict::Rejected(RejectReason::ContentMismatch)
        );
        assert_eq!(
            verdict("odt", &plain),
            Verdict::Rejected(RejectReason::ContentMismatch)
        );
    }

    #[test]
    fn nested_office_files_share_the_archives_decompression_budget() {
        // With a budget of 500 KB: one .docx expanding 300 KB fits, two inside one archive
        // do not (before, each nested file got a fresh budget of its own). The product's
        // budget is 100× the upload, at most 200 MB: the same sum, at that scale.
        let budget = || ZipBudget {
            bytes_left: 500 * 1024,
            entries_left: MAX_ZIP_ENTRIES,
        };
        let zeros = vec![0u8; 300 * 1024];
        let docx = docx_with(&[("word/media/blank.txt", &zeros)]);
        assert_eq!(
            inspect_zip(&docx, Container::Office("docx"), &mut budget()),
            Ok(())
        );
        let one = zip_of(&[("a.docx", &docx)]);
        assert_eq!(inspect_zip(&one, Container::Archive, &mut budget()), Ok(()));
        let two = zip_of(&[("a.docx", &docx), ("b.docx", &docx)]);
        assert_eq!(
            inspect_zip(&two, Container::Archive, &mut budget()),
            Err(RejectReason::ZipBomb)
        );
        // Entries count across levels too.
        let few_entries = || ZipBudget {
            bytes_left: 10 * 1024 * 1024,
            entries_left: 4,
        };
        assert_eq!(
            inspect_zip(&two, Container::Archive, &mut few_entries()),
            Err(RejectReason::ZipBomb)
        );
    }
}
