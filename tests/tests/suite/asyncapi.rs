//! docs/asyncapi.yaml stays in step with the frames the code sends and accepts: the server
//! frame types and client actions it documents are exactly the code's, and every client
//! example it gives is a frame the server accepts.

use std::collections::BTreeSet;

use domain::realtime::{parse_client_frame, CLIENT_ACTIONS, SERVER_FRAME_TYPES};
use serde_yaml::Value;

fn document() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/asyncapi.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("docs/asyncapi.yaml"))
        .expect("docs/asyncapi.yaml parses")
}

/// (server frame types, client actions) the document's messages declare.
fn documented(doc: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut server, mut client) = (BTreeSet::new(), BTreeSet::new());
    for (_, message) in doc["components"]["messages"].as_mapping().unwrap() {
        let payload = &message["payload"];
        if let Some(action) = payload["properties"]["action"]["const"].as_str() {
            client.insert(action.to_string());
        }
        for part in payload["allOf"].as_sequence().into_iter().flatten() {
            if let Some(kind) = part["properties"]["type"]["const"].as_str() {
                server.insert(kind.to_string());
            }
        }
    }
    (server, client)
}

#[test]
fn documented_frames_are_the_codes_frames() {
    let (server, client) = documented(&document());
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(server, set(SERVER_FRAME_TYPES));
    assert_eq!(client, set(CLIENT_ACTIONS));
}

#[test]
fn documented_client_examples_are_accepted() {
    let doc = document();
    let mut examples = 0;
    for (_, message) in doc["components"]["messages"].as_mapping().unwrap() {
        if message["payload"]["properties"]["action"].is_null() {
            continue;
        }
        for example in message["examples"].as_sequence().into_iter().flatten() {
            let json = serde_json::to_string(&example["payload"]).unwrap();
            assert!(parse_client_frame(&json).is_ok(), "{json}");
            examples += 1;
        }
    }
    assert!(examples > 0);
}
