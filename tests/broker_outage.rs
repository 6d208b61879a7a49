//! The broker goes away and comes back: readiness follows it, a frame sent
//! meanwhile is answered with an error (never a false `ok`) within the
//! client's wait, and publishing works again afterwards.
//! Stops and restarts the local stack's broker, so it lives in its own test binary.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn local_stack(command: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/local-stack.sh");
    let status = Command::new("bash").arg(script).arg(command).status().unwrap();
    assert!(status.success(), "local-stack.sh {command} failed");
}

fn wait_for_readiness(frontier: &Frontier, expected: u16, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, _, body) = get(&frontier.url("/health/ready/"));
        if status == expected {
            return serde_json::from_str(&body).unwrap();
        }
        assert!(Instant::now() < deadline, "readiness stayed {status} ({body}), expected {expected}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn readiness_and_publishing_follow_the_broker() {
    let frontier = Frontier::start(&[("KAFKA_MESSAGE_TIMEOUT_MS", "3000")]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(10));
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);

    local_stack("kafka-stop");
    let degraded = wait_for_readiness(&frontier, 503, Duration::from_secs(15));
    assert_eq!(degraded["status"], "degraded");
    assert!(degraded["checks"]["kafka"].as_str().unwrap().starts_with("error: "), "{degraded}");
    let started = Instant::now();
    let answer = ws.roundtrip(r#"{"type":"add_tag","tag_name":"during-outage"}"#);
    assert_eq!(answer["status"], "error", "no ok without a broker ack: {answer}");
    assert!(started.elapsed() < Duration::from_secs(15), "answered within the client's wait");

    local_stack("kafka-start");
    wait_for_readiness(&frontier, 200, Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = ws.roundtrip(r#"{"type":"add_tag","tag_name":"after-outage"}"#);
        if answer == ok_answer() {
            break;
        }
        assert!(Instant::now() < deadline, "publishing did not recover: {answer}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let records = records_for(&run_id, 1, Duration::from_secs(20));
    assert!(records.iter().any(|r| r.value["payload"]["tag_name"] == "after-outage"));
}
