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
