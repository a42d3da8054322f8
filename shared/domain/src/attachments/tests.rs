use super::*;

#[test]
fn a_file_purge_names_only_its_conversations_files() {
    let of = |files| FilePurge {
        account_id: "acct".into(),
        conversation_id: "c_1".into(),
        files,
    };
    assert_eq!(
        of(PurgedFiles::All).targets(),
        vec!["a/acct/c_1/", "v/acct/c_1/"]
    );
    // An id that is not an attachment's never becomes a key (no `..`, no prefix).
    let id = crate::ids::new_id("att");
    let picked = of(PurgedFiles::Attachments(vec![id.clone(), "../c_2".into()]));
    assert_eq!(
        picked.targets(),
        vec![format!("v/acct/c_1/{id}"), format!("a/acct/c_1/{id}")]
    );
}

#[test]
fn the_attachment_queue_tells_purges_from_notifications() {
    let purge = r#"{"account_id": "acct", "conversation_id": "c_1", "files": "all"}"#;
    assert!(matches!(
        serde_json::from_str::<AttachmentQueueMessage>(purge).unwrap(),
        AttachmentQueueMessage::Purge(FilePurge {
            files: PurgedFiles::All,
            ..
        })
    ));
    let notification = object_created_event("bucket", "a/acct/c_1/att_9", 10);
    assert!(matches!(
        serde_json::from_str::<AttachmentQueueMessage>(&notification).unwrap(),
        AttachmentQueueMessage::Notification(n) if n.records.len() == 1
    ));
}
use std::io::Cursor;
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
        serde_json::from_str(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#).expect("parses");
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

pub(super) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        writer.start_file(*name, options).expect("start entry");
        writer.write_all(data).expect("write entry");
    }
    writer.finish().expect("finish zip").into_inner()
}

pub(super) fn verdict(extension: &str, content: &[u8]) -> Verdict {
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

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
}

/// Where the central directory starts, as the end record says (no archive comment).
fn central_directory_at(zip: &[u8]) -> usize {
    u32_at(zip, zip.len() - 22 + 16)
}

#[test]
fn a_local_name_that_differs_from_the_central_one_is_refused() {
    let mut zip = zip_of(&[("notes.txt", b"hi")]);
    // The local header says `notes.exe`; the central directory still says `notes.txt`.
    assert_eq!(&zip[30..39], b"notes.txt");
    zip[36..39].copy_from_slice(b"exe");
    assert_eq!(
        verdict("zip", &zip),
        Verdict::Rejected(RejectReason::ZipInconsistent)
    );
}

#[test]
fn an_entry_the_central_directory_does_not_list_is_refused() {
    let shown = zip_of(&[("a.txt", b"hi")]);
    let hidden = zip_of(&[("setup.exe", b"MZ\x90\0")]);
    let hidden_entry = &hidden[..central_directory_at(&hidden)];
    // The hidden entry goes between the listed data and the central directory, whose
    // offset is moved accordingly: readers that walk local headers would find it.
    let cd = central_directory_at(&shown);
    let mut zip = shown[..cd].to_vec();
    zip.extend_from_slice(hidden_entry);
    zip.extend_from_slice(&shown[cd..]);
    let end = zip.len() - 22 + 16;
    let moved = (cd + hidden_entry.len()) as u32;
    zip[end..end + 4].copy_from_slice(&moved.to_le_bytes());
    assert_eq!(
        verdict("zip", &zip),
        Verdict::Rejected(RejectReason::ZipInconsistent)
    );
    assert_eq!(
        verdict("docx", &zip),
        Verdict::Rejected(RejectReason::ZipInconsistent)
    );
}

#[test]
fn symlink_entries_are_refused() {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    // Shaped as an office file too (it has the part every .docx has).
    writer.start_file("[Content_Types].xml", options).unwrap();
    writer.write_all(b"<?xml version='1.0'?><Types/>").unwrap();
    writer.start_file("notes.txt", options).unwrap();
    writer.write_all(b"hi").unwrap();
    writer
        .add_symlink("link.txt", "/etc/passwd", options)
        .unwrap();
    let zip = writer.finish().unwrap().into_inner();
    assert_eq!(
        verdict("zip", &zip),
        Verdict::Rejected(RejectReason::ZipEntryNotAllowed("link.txt".into()))
    );
    assert_eq!(
        verdict("docx", &zip),
        Verdict::Rejected(RejectReason::ZipEntryNotAllowed("link.txt".into()))
    );
}
