//! Small real files of common types, and hostile ones, for the attachment tests.

use std::io::{Cursor, Write};

use base64::Engine;

fn b64(data: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("fixture base64")
}

/// A 1×1 PNG.
pub fn png() -> Vec<u8> {
    b64("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
}

/// A 1×1 baseline JPEG (JFIF).
pub fn jpg() -> Vec<u8> {
    b64("/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=")
}

/// A one-page PDF.
pub fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
}

pub fn txt() -> Vec<u8> {
    "Order #1234 arrived damaged — photos attached.\n"
        .as_bytes()
        .to_vec()
}

pub fn csv() -> Vec<u8> {
    b"order,item,qty\n1234,mug,2\n1235,plate,4\n".to_vec()
}

/// An MP3: ID3v2 tag and one MPEG-1 Layer III frame.
pub fn mp3() -> Vec<u8> {
    let mut bytes = b"ID3\x03\x00\x00\x00\x00\x00\x00".to_vec();
    bytes.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
    bytes.extend(std::iter::repeat_n(0u8, 413));
    bytes
}

/// An MP4: `ftyp` box followed by an empty `moov` box.
pub fn mp4() -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&24u32.to_be_bytes());
    bytes.extend_from_slice(b"ftypisom\x00\x00\x02\x00isommp41");
    bytes.extend_from_slice(&8u32.to_be_bytes());
    bytes.extend_from_slice(b"moov");
    bytes
}

pub fn svg() -> Vec<u8> {
    b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\"/></svg>\n".to_vec()
}

/// A zip archive of the given entries (deflated).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        writer.start_file(*name, options).expect("zip entry");
        writer.write_all(data).expect("zip data");
    }
    writer.finish().expect("zip finish").into_inner()
}

/// A minimal Word document (a zip container with the OOXML parts).
pub fn docx() -> Vec<u8> {
    office_file_with(&[])
}

/// [`docx`] with `extra` parts.
pub fn office_file_with(extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut parts: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>"),
        ("_rels/.rels", b"<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"/>"),
        ("word/document.xml", b"<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body></w:document>"),
    ];
    parts.extend_from_slice(extra);
    zip_of(&parts)
}

/// A zip of allowed files.
pub fn zip() -> Vec<u8> {
    zip_of(&[("notes.txt", &txt()), ("photos/pic.png", &png())])
}

/// An HTML page with a script, named like an image.
pub fn html() -> Vec<u8> {
    b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>".to_vec()
}

/// The start of a Windows executable.
pub fn exe() -> Vec<u8> {
    let mut bytes = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF".to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 64));
    bytes.extend_from_slice(b"This program cannot be run in DOS mode.");
    bytes
}

/// 20 MB of one byte, deflated to a few kilobytes.
pub fn zip_bomb() -> Vec<u8> {
    zip_of(&[("readme.txt", &vec![b'a'; 20 * 1024 * 1024])])
}
