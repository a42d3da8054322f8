//! Attachments through HTTP against the emulator (R7, R18, R19): admission, upload to S3,
//! validation on `complete` and on S3's notification, messages citing attachments, downloads.

use domain::model::Role;
use integration_tests::{files, json, TestApp};
use reqwest::StatusCode;

pub(super) async fn admit(
    app: &TestApp,
    cid: &str,
    token: &str,
    body: serde_json::Value,
) -> integration_tests::Reply {
    app.post(&format!("/v1/conversations/{cid}/attachments"), token, body)
        .await
}

#[tokio::test]
async fn only_those_who_see_the_conversation_may_attach_or_read() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let body = json!({"file_name": "a.png", "content_type": "image/png", "size": 10});
    let other_user = admit(&app, &cid, &app.token(Role::EndUser, "eu-2"), body.clone()).await;
    assert_eq!(other_user.status, StatusCode::NOT_FOUND);
    let other_account = admit(
        &app,
        &cid,
        &app.other_account.token(Role::Agent, "ag-9"),
        body.clone(),
    )
    .await;
    assert_eq!(other_account.status, StatusCode::NOT_FOUND);
    let agent = admit(&app, &cid, &app.token(Role::Agent, "ag-1"), body).await;
    assert_eq!(agent.status, StatusCode::CREATED);
    let aid = agent.body["attachment_id"].as_str().unwrap();
    let path = format!("/v1/conversations/{cid}/attachments/{aid}");
    assert_eq!(
        app.get(&path, &app.token(Role::EndUser, "eu-2"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&path, &app.other_account.token(Role::Admin, "ad"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&path, &app.token(Role::EndUser, "eu-1"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn common_files_are_uploaded_marked_clean_and_downloadable_as_attachments() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("photo.png", files::png()),
        ("photo.JPG", files::jpg()),
        ("invoice.pdf", files::pdf()),
        ("notes.txt", files::txt()),
        ("orders.csv", files::csv()),
        ("letter.docx", files::docx()),
        ("voice.mp3", files::mp3()),
        ("clip.mp4", files::mp4()),
        ("logo.svg", files::svg()),
        ("bundle.zip", files::zip()),
    ];
    for (name, bytes) in samples {
        let (aid, completed) = app.attach(&cid, &token, name, bytes.clone()).await;
        assert_eq!(
            completed.status,
            StatusCode::OK,
            "{name}: {:?}",
            completed.body
        );
        assert_eq!(
            completed.body["status"], "clean",
            "{name}: {:?}",
            completed.body
        );
        let status = app
            .get(
                &format!("/v1/conversations/{cid}/attachments/{aid}"),
                &token,
            )
            .await;
        assert_eq!(status.body["status"], "clean");
        assert_eq!(status.body["size"], bytes.len());
        let url = status.body["download_url"]
            .as_str()
            .expect("clean files have a download URL");
        let (code, headers, body) = app.download(url).await;
        assert_eq!(code, StatusCode::OK, "{name}");
        assert_eq!(body, bytes, "{name}: downloaded bytes differ");
        let disposition = headers
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            disposition.starts_with("attachment;"),
            "{name}: {disposition}"
        );
        if name.ends_with(".svg") {
            assert_eq!(status.body["download_only"], true);
            assert_eq!(
                headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some("application/octet-stream"),
                "SVG must never be served as an image"
            );
        }
    }
}

#[tokio::test]
async fn disguised_dangerous_and_oversize_uploads_are_rejected_and_deleted() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("cute.png", files::html(), "content_mismatch"),
        ("invoice.pdf", files::exe(), "content_mismatch"),
        (
            "bundle.zip",
            files::zip_of(&[("readme.txt", b"hi"), ("setup.exe", &files::exe())]),
            "zip_entry_not_allowed",
        ),
        ("bundle.zip", files::zip_bomb(), "zip_bomb"),
        (
            "bundle.zip",
            files::zip_of(&[("../../evil.txt", b"x")]),
            "zip_path_traversal",
        ),
        // #19 item 3: an office file is opened too, alone or inside a zip.
        (
            "letter.docx",
            files::office_file_with(&[("word/embeddings/setup.bin", &files::exe())]),
            "zip_entry_not_allowed",
        ),
        (
            "bundle.zip",
            files::zip_of(&[(
                "letter.docx",
                &files::office_file_with(&[("word/vbaProject.bin", b"macros")]),
            )]),
            "zip_entry_not_allowed",
        ),
        ("letter.docx", files::zip(), "content_mismatch"),
    ];
    for (name, bytes, reason) in cases {
        let (aid, completed) = app.attach(&cid, &token, name, bytes).await;
        assert_eq!(completed.status, StatusCode::OK, "{name}");
        assert_eq!(
            completed.body["status"], "rejected",
            "{name}: {:?}",
            completed.body
        );
        assert_eq!(completed.body["reason"], reason, "{name}");
        let stored = app
            .backend
            .store
            .get_attachment(&app.account.id, &cid, &aid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            app.backend
                .objects
                .object_head(&stored.object_key)
                .await
                .unwrap(),
            None,
            "{name}: rejected bytes must be deleted"
        );
        let status = app
            .get(
                &format!("/v1/conversations/{cid}/attachments/{aid}"),
                &token,
            )
            .await;
        assert!(
            status.body.get("download_url").is_none_or(|u| u.is_null()),
            "{name}"
        );
    }

    // Declared 10 bytes, sent 5,000: S3 refuses it (content-length-range) or, where the
    // endpoint does not enforce the policy (moto), the check after upload rejects it.
    let admitted = admit(
        &app,
        &cid,
        &token,
        json!({"file_name": "small.txt", "content_type": "text/plain", "size": 10}),
    )
    .await;
    let aid = admitted.body["attachment_id"].as_str().unwrap().to_string();
    let sent = app
        .upload(&admitted.body["upload"], "small.txt", vec![b'a'; 5_000])
        .await;
    let completed = app
        .post(
            &format!("/v1/conversations/{cid}/attachments/{aid}/complete"),
            &token,
            json!({}),
        )
        .await;
    if sent.is_success() {
        assert_eq!(completed.body["status"], "rejected", "{:?}", completed.body);
        assert_eq!(completed.body["reason"], "size_mismatch");
    } else {
        assert_eq!(completed.status, StatusCode::CONFLICT);
        assert_eq!(completed.error_code(), "not_uploaded");
    }
}

#[tokio::test]
async fn messages_may_cite_only_clean_attachments_of_their_own_conversation() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let other_cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    let post = |attachment: String, cmid: &'static str| {
        let app = &app;
        let token = token.clone();
        let cid = cid.clone();
        async move {
            app.post(
                &format!("/v1/conversations/{cid}/messages"),
                &token,
                json!({"client_message_id": cmid, "type": "attachment", "attachment_ids": [attachment]}),
            )
            .await
        }
    };
    // Pending: admitted, nothing uploaded.
    let pending = admit(
        &app,
        &cid,
        &token,
        json!({"file_name": "a.png", "content_type": "image/png", "size": 10}),
    )
    .await;
    let pending_id = pending.body["attachment_id"].as_str().unwrap().to_string();
    let reply = post(pending_id.clone(), "m-pending").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error_code(), "attachment_not_usable");
    // Complete before any upload: still pending, 409.
    let early = app
        .post(
            &format!("/v1/conversations/{cid}/attachments/{pending_id}/complete"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    // A pending attachment offers nothing to download.
    let status = app
        .get(
            &format!("/v1/conversations/{cid}/attachments/{pending_id}"),
            &token,
        )
        .await;
    assert_eq!(status.status, StatusCode::OK, "{:?}", status.body);
    assert_eq!(status.body["status"], "pending");
    assert!(
        status.body.get("download_url").is_none_or(|u| u.is_null()),
        "{:?}",
        status.body
    );
    // Rejected.
    let (rejected, completed) = app.attach(&cid, &token, "cute.png", files::html()).await;
    assert_eq!(completed.status, StatusCode::OK, "{:?}", completed.body);
    assert_eq!(completed.body["status"], "rejected", "{:?}", completed.body);
    let reply = post(rejected, "m-rejected").await;
    assert_eq!(reply.error_code(), "attachment_not_usable");
    // Clean, but of another conversation.
    let (foreign, done) = app
        .attach(&other_cid, &token, "photo.png", files::png())
        .await;
    assert_eq!(done.body["status"], "clean");
    let reply = post(foreign, "m-foreign").await;
    assert_eq!(reply.error_code(), "attachment_not_usable");
    // Not an id at all.
    let reply = post("att_../../x".into(), "m-bogus").await;
    assert_eq!(reply.error_code(), "attachment_not_usable");
    // Clean and of this conversation: stored, and agents see it in history.
    let (clean, _) = app.attach(&cid, &token, "photo.png", files::png()).await;
    let reply = post(clean.clone(), "m-clean").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let history = app
        .get(
            &format!("/v1/conversations/{cid}/messages"),
            &app.token(Role::Agent, "ag-1"),
        )
        .await;
    let messages = history.body["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        1,
        "refused messages are not stored: {messages:?}"
    );
    assert_eq!(messages[0]["type"], "attachment");
    assert_eq!(messages[0]["attachment_ids"], json!([clean]));
}

#[tokio::test]
async fn s3_notification_validates_once_even_when_delivered_twice() {
    let app = TestApp::start().await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    let admitted = admit(
        &app,
        &cid,
        &token,
        json!({"file_name": "photo.png", "content_type": "image/png", "size": files::png().len()}),
    )
    .await;
    let aid = admitted.body["attachment_id"].as_str().unwrap().to_string();
    let key = admitted.body["upload"]["fields"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(app
        .upload(&admitted.body["upload"], "photo.png", files::png())
        .await
        .is_success());

    // The bucket announces the upload on the provisioned notification queue.
    let notification = app.take_attachment_notification(&key).await;
    let first = validate_attachment::handle_event(&app.backend, &notification)
        .await
        .unwrap();
    assert_eq!(first, use_cases::validation::Handled::Decided(1));
    let decided = app
        .backend
        .store
        .get_attachment(&app.account.id, &cid, &aid)
        .await
        .unwrap()
        .unwrap();
    let second = validate_attachment::handle_event(&app.backend, &notification)
        .await
        .unwrap();
    assert_eq!(second, use_cases::validation::Handled::Nothing);
    let after = app
        .backend
        .store
        .get_attachment(&app.account.id, &cid, &aid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, decided, "a repeated delivery changes nothing");
    assert_eq!(after.status, domain::attachments::AttachmentStatus::Clean);
    // `complete` after the event reports the stored decision.
    let completed = app
        .post(
            &format!("/v1/conversations/{cid}/attachments/{aid}/complete"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(completed.body["status"], "clean");
    // A notification that is not JSON fails (to be retried, then dead-lettered).
    assert!(validate_attachment::handle_event(&app.backend, "not json")
        .await
        .is_err());
}

/// The local gateway's in-memory mode behaves like S3: signed PUT targets it checks itself
/// (size limit included), a notification per upload consumed by the in-process validator.
#[tokio::test]
async fn in_memory_gateway_serves_uploads_enforces_size_and_validates_from_notifications() {
    let app = TestApp::start_in_memory().await;
    let cid = app.new_conversation("eu-1").await;
    let token = app.token(Role::EndUser, "eu-1");
    let png = files::png();
    let admitted = admit(
        &app,
        &cid,
        &token,
        json!({"file_name": "photo.png", "content_type": "image/png", "size": png.len()}),
    )
    .await;
    assert_eq!(admitted.status, StatusCode::CREATED);
    let upload = &admitted.body["upload"];
    assert_eq!(upload["method"], "PUT");
    // More bytes than admitted: the bucket itself refuses them.
    let too_big = app
        .upload(upload, "photo.png", vec![0u8; png.len() + 1])
        .await;
    assert_eq!(too_big, StatusCode::BAD_REQUEST);
    // A tampered URL is refused.
    let mut forged = upload.clone();
    forged["url"] = json!(upload["url"].as_str().unwrap().replace("max=", "max=9"));
    assert_eq!(
        app.upload(&forged, "photo.png", png.clone()).await,
        StatusCode::FORBIDDEN
    );
    assert!(app
        .upload(upload, "photo.png", png.clone())
        .await
        .is_success());
    // No `complete` call: the notification alone gets it validated.
    let aid = admitted.body["attachment_id"].as_str().unwrap();
    let path = format!("/v1/conversations/{cid}/attachments/{aid}");
    let mut status = app.get(&path, &token).await;
    for _ in 0..50 {
        if status.body["status"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = app.get(&path, &token).await;
    }
    assert_eq!(status.body["status"], "clean", "{:?}", status.body);
    let (code, headers, body) = app
        .download(status.body["download_url"].as_str().unwrap())
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body, png);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
}

/// The attachment functions run in Lambda with only DynamoDB and S3 linked
/// (`backend::DYNAMODB_AND_S3`): their whole flow must need nothing else.
#[tokio::test]
async fn attachment_functions_need_only_the_services_they_link() {
    let app = TestApp::start().await;
    let config = app.config.clone().expect("own resources");
    let linked = adapters::wiring::aws(
        &integration_tests::emulator_config().await,
        &config,
        adapters::wiring::DYNAMODB_AND_S3,
    );
    let cid = app.new_conversation("eu-links").await;
    let token = app.token(Role::EndUser, "eu-links");
    let call = |method: &str, path: String, body: serde_json::Value| {
        http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(bytes::Bytes::from(body.to_string()))
            .expect("request")
    };
    let read = |response: edge::api::ApiResponse| {
        let status = response.status().as_u16();
        let body: serde_json::Value = serde_json::from_str(response.body()).expect("JSON");
        (status, body)
    };

    let (status, admitted) = read(
        upload_attachment::handle(
            &linked,
            call(
                "POST",
                format!("/v1/conversations/{cid}/attachments"),
                json!({"file_name": "photo.png", "content_type": "image/png", "size": files::png().len()}),
            ),
        )
        .await,
    );
    assert_eq!(status, 201, "{admitted}");
    let aid = admitted["attachment_id"].as_str().unwrap().to_string();
    let key = admitted["upload"]["fields"]["key"].as_str().unwrap();
    assert!(app
        .upload(&admitted["upload"], "photo.png", files::png())
        .await
        .is_success());
    let notification = app.take_attachment_notification(key).await;
    assert_eq!(
        validate_attachment::handle_event(&linked, &notification)
            .await
            .unwrap(),
        use_cases::validation::Handled::Decided(1)
    );
    let (status, completed) = read(
        upload_attachment::handle(
            &linked,
            call(
                "POST",
                format!("/v1/conversations/{cid}/attachments/{aid}/complete"),
                json!({}),
            ),
        )
        .await,
    );
    assert_eq!((status, completed["status"].as_str()), (200, Some("clean")));
    let (status, view) = read(
        upload_attachment::handle(
            &linked,
            call(
                "GET",
                format!("/v1/conversations/{cid}/attachments/{aid}"),
                json!({}),
            ),
        )
        .await,
    );
    assert_eq!(status, 200, "{view}");
    assert!(view["download_url"].as_str().is_some_and(|u| !u.is_empty()));
}

/// R30: what was checked is what is downloaded. An upload target stays valid for minutes after
/// the clean verdict; sending it again with other bytes must not change what the download
/// link serves (on S3, and on the in-memory gateway's signed PUT).
async fn a_validated_file_cannot_be_swapped_by_uploading_again(app: &TestApp) {
    let cid = app.new_conversation("alice").await;
    let alice = app.token(Role::EndUser, "alice");
    let png = files::png();
    let admitted = admit(
        app,
        &cid,
        &alice,
        json!({"file_name": "receipt.png", "content_type": "image/png", "size": png.len()}),
    )
    .await;
    assert_eq!(admitted.status, StatusCode::CREATED, "{:?}", admitted.body);
    let aid = admitted.body["attachment_id"].as_str().unwrap().to_string();
    let target = admitted.body["upload"].clone();
    assert!(app
        .upload(&target, "receipt.png", png.clone())
        .await
        .is_success());
    let completed = app
        .post(
            &format!("/v1/conversations/{cid}/attachments/{aid}/complete"),
            &alice,
            json!({}),
        )
        .await;
    assert_eq!(completed.body["status"], "clean", "{:?}", completed.body);

    // The same target again, now with something else of the same size.
    let mut swapped = files::exe();
    swapped.resize(png.len(), 0);
    let status = app.upload(&target, "receipt.png", swapped.clone()).await;
    assert!(
        status.is_success(),
        "the target still takes bytes ({status})"
    );

    let attachment = app
        .get(
            &format!("/v1/conversations/{cid}/attachments/{aid}"),
            &alice,
        )
        .await;
    assert_eq!(attachment.body["status"], "clean");
    let url = attachment.body["download_url"]
        .as_str()
        .expect("download url");
    let (status, _, body) = app.download(url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body, png,
        "the download serves the bytes that were validated"
    );
}

#[tokio::test]
async fn a_validated_file_cannot_be_swapped_on_s3() {
    a_validated_file_cannot_be_swapped_by_uploading_again(&TestApp::start().await).await;
}

#[tokio::test]
async fn a_validated_file_cannot_be_swapped_on_the_in_memory_gateway() {
    let app = TestApp::start_in_memory().await;
    a_validated_file_cannot_be_swapped_by_uploading_again(&app).await;
}
