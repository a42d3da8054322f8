//! Attachment admission through HTTP against the emulator (R7, R18): which names, types and
//! sizes are admitted with an upload target, which are refused with which stable code, and the
//! setting that turns attachments off.

use super::attachments_api::admit;
use domain::attachments::ALLOWED_EXTENSIONS;
use domain::model::Role;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;

/// R18's list exactly as the specification words it (zip is allowed when its entries are):
/// copied, not derived from the code, so that the code drifting from it fails here.
const SPEC_EXTENSIONS: &str = "3g2 3gp 7z aac amr avi bmp csv doc docx eml gif heic heif ics \
    jfif jpeg jpg key log m4a m4v mov mp3 mp4 mp4a mpeg mpg mpga neon numbers odt oga ogg ogv \
    opus pages pdf png pps ppsx ppt pptx qt svg tif tiff txt vcf wav webm webp wmv xls xlsx xml \
    yaml yml zip";

fn spec_extensions() -> Vec<&'static str> {
    SPEC_EXTENSIONS.split_whitespace().collect()
}

#[test]
fn the_codes_extension_list_is_the_specs() {
    let mut code: Vec<&str> = ALLOWED_EXTENSIONS.to_vec();
    code.sort_unstable();
    let mut spec = spec_extensions();
    spec.sort_unstable();
    assert_eq!(code, spec);
}

#[tokio::test]
async fn every_allowed_extension_is_admitted_with_an_upload_target_s3_enforces() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    for extension in spec_extensions() {
        let reply = admit(
            &app,
            &cid,
            &token,
            json!({"file_name": format!("File.{}", extension.to_uppercase()), "content_type": "application/octet-stream", "size": 1234}),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            ".{extension}: {:?}",
            reply.body
        );
        assert_eq!(reply.body["status"], "pending");
        let upload = &reply.body["upload"];
        assert_eq!(upload["method"], "POST");
        // The key is generated and scoped; the user's file name is not part of it.
        let key = upload["fields"]["key"].as_str().expect("key field");
        assert!(
            key.starts_with(&format!("a/{}/{cid}/att_", app.account.id)),
            "{key}"
        );
        assert!(!key.contains("File"));
        // S3 itself refuses a larger body: the signed policy carries the declared size.
        let policy = upload["fields"]["policy"].as_str().expect("policy");
        let policy: serde_json::Value =
            serde_json::from_slice(&base64_decode(policy)).expect("policy JSON");
        assert!(
            policy["conditions"]
                .as_array()
                .expect("conditions")
                .contains(&json!(["content-length-range", 1, 1234])),
            "{policy}"
        );
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

#[tokio::test]
async fn disallowed_names_sizes_and_private_files_are_refused_with_stable_codes() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    let cases = [
        (
            json!({"file_name": "setup.exe", "content_type": "application/octet-stream", "size": 10}),
            "extension_not_allowed",
        ),
        (
            json!({"file_name": "invoice.pdf.exe", "content_type": "application/pdf", "size": 10}),
            "extension_not_allowed",
        ),
        (
            json!({"file_name": "page.html", "content_type": "text/html", "size": 10}),
            "extension_not_allowed",
        ),
        (
            json!({"file_name": "script.JS", "content_type": "text/javascript", "size": 10}),
            "extension_not_allowed",
        ),
        (
            json!({"file_name": "archive.rar", "content_type": "application/octet-stream", "size": 10}),
            "extension_not_allowed",
        ),
        (
            json!({"file_name": "photo.png\u{0}.exe", "content_type": "image/png", "size": 10}),
            "invalid_file_name",
        ),
        (
            json!({"file_name": "photo\u{7}.png", "content_type": "image/png", "size": 10}),
            "invalid_file_name",
        ),
        (
            json!({"file_name": "../../etc/passwd.txt", "content_type": "text/plain", "size": 10}),
            "invalid_file_name",
        ),
        (
            json!({"file_name": "a.png", "content_type": "image/png", "size": 0}),
            "invalid_attachment_size",
        ),
        (
            json!({"file_name": "a.png", "content_type": "image/png", "size": -5}),
            "invalid_attachment_size",
        ),
        (
            json!({"file_name": "a.png", "content_type": "image/png", "size": 50 * 1024 * 1024 + 1}),
            "invalid_attachment_size",
        ),
        (
            json!({"file_name": "a.png", "content_type": "image/png", "size": 10, "private": true}),
            "private_attachments_unavailable",
        ),
    ];
    for (body, code) in cases {
        let reply = admit(&app, &cid, &token, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            reply.body
        );
        assert_eq!(reply.error_code(), code, "{body}");
    }
    // Wrong shapes are 400, unknown fields too.
    let reply = admit(
        &app,
        &cid,
        &token,
        json!({"file_name": "a.png", "content_type": "image/png", "size": "10"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = admit(
        &app,
        &cid,
        &token,
        json!({"file_name": "a.png", "content_type": "image/png", "size": 10, "key": "a/x"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn attachments_disabled_by_settings_are_refused() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    app.patch_settings(
        &app.token(Role::Admin, "ad-1"),
        json!({"attachments": {"enabled": false}}),
    )
    .await;
    let reply = admit(
        &app,
        &cid,
        &app.token(Role::EndUser, "eu-1"),
        json!({"file_name": "a.png", "content_type": "image/png", "size": 10}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "attachments_disabled");
}
