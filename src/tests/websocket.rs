//! The WebSocket answer path against a fake producer: `ok` once it acks,
//! `error` when it fails, nothing published for an invalid frame.

use serde_json::json;

use std::sync::Arc;

use super::fakes::{FakeProducer, FakeStore, PublishLog};
use super::gateway::{TestGateway, WsClient};

/// A gateway with `producer`, a connection for `run-1`, and what the producer receives.
fn connected(producer: FakeProducer) -> (TestGateway, WsClient, PublishLog) {
    let published = Arc::clone(&producer.published);
    let gateway = TestGateway::start(&[], producer, FakeStore::healthy());
    let ws = gateway.ws("run-1", None).unwrap();
    (gateway, ws, published)
}

#[test]
fn an_acked_frame_is_answered_ok_and_published_once_under_its_run() {
    let (_gateway, mut ws, published) = connected(FakeProducer::acking());
    let frame = r#"[{"type":"add_tag","tag_name":"a"},{"type":"remove_tag","tag_name":"b"}]"#;
    assert_eq!(ws.roundtrip(frame), json!({"status": "ok", "error": null}));
    assert_eq!(*published.lock().unwrap(), [("run-1".to_string(), 2)]);
}

#[test]
fn a_failed_publish_is_answered_with_the_kafka_error() {
    let (_gateway, mut ws, _) = connected(FakeProducer::timing_out());
    let answer = ws.roundtrip(r#"{"type":"add_tag","tag_name":"a"}"#);
    assert_eq!(answer["status"], "error");
    let error = answer["error"].as_str().unwrap();
    assert!(error.starts_with("Kafka did not acknowledge the messages") && error.contains("timed out"), "{answer}");
    // The connection stays open for the next frame.
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"b"}"#)["status"], "error");
}

#[test]
fn an_invalid_frame_is_refused_without_publishing() {
    let (_gateway, mut ws, published) = connected(FakeProducer::acking());
    let answer = ws.roundtrip(r#"[{"type":"add_tag","tag_name":"a"},{"type":"add_tag"}]"#);
    assert_eq!(answer["status"], "error");
    assert!(answer["error"].as_str().unwrap().starts_with("message 1: "), "names the message: {answer}");
    assert!(published.lock().unwrap().is_empty(), "a frame is published whole or not at all");
}

#[test]
fn upgrades_beyond_the_connection_limit_get_503() {
    let gateway = TestGateway::start(&[("WS_MAX_CONNECTIONS", "1")], FakeProducer::acking(), FakeStore::healthy());
    let _open = gateway.ws("run-1", None).unwrap();
    assert_eq!(gateway.ws("run-2", None).err(), Some(503));
    assert_eq!(gateway.ws("..", None).err(), Some(400), "run ids are checked before anything else");
}

/// With authentication on, a message may name only its own run's objects: a
/// token bound to `team-a-` cannot attach `team-b-run/model.bin` to its run.
/// Each frame gets: ok for the run's own key, an error naming the key for
/// another run's or one that climbs out, and nothing of a refused frame is published.
#[test]
fn with_auth_on_messages_name_only_their_runs_objects() {
    let producer = FakeProducer::acking();
    let published = Arc::clone(&producer.published);
    let gateway = TestGateway::start(&[("AUTH_TOKENS", "team-token:team-a-")], producer, FakeStore::healthy());
    let mut ws = gateway.ws("team-a-run", Some("team-token")).unwrap();
    let blob_ref = |key: &str| json!({"type": "blob_ref", "s3_key": key, "artifact_path": "model.bin"}).to_string();
    let image = |key: &str| json!({"type": "log_custom_object", "name": "img", "value": {"type": "image", "s3_key": key}}).to_string();
    for frame in [
        blob_ref("team-b-run/model.bin"),
        blob_ref("team-a-run/../team-b-run/model.bin"),
        image("team-b-run/seq/img/0.png"),
        format!("[{},{}]", blob_ref("team-a-run/model.bin"), image("team-a-run\\..\\team-b-run\\x.png")),
    ] {
        let answer = ws.roundtrip(&frame);
        assert_eq!(answer["status"], "error", "{frame}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains("is not an object key of this run"), "{answer}");
    }
    assert!(published.lock().unwrap().is_empty(), "nothing of a refused frame is published");
    let own = format!("[{},{}]", blob_ref("team-a-run/model.bin"), image("team-a-run/seq/img/0.png"));
    assert_eq!(ws.roundtrip(&own), json!({"status": "ok", "error": null}));
    assert_eq!(*published.lock().unwrap(), [("team-a-run".to_string(), 2)]);
}

/// Without authentication, as the reference: any key is taken as sent.
#[test]
fn without_auth_any_object_key_is_taken() {
    let (_gateway, mut ws, published) = connected(FakeProducer::acking());
    let frame = json!({"type": "blob_ref", "s3_key": "team-b-run/model.bin", "artifact_path": "model.bin"}).to_string();
    assert_eq!(ws.roundtrip(&frame), json!({"status": "ok", "error": null}));
    assert_eq!(published.lock().unwrap().len(), 1);
}
