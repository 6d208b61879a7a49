//! The broker goes away and comes back: readiness follows it, and a frame sent
//! meanwhile is answered with an error (never a false `ok`) within the
//! client's 15 s wait.
//! This test stops the local stack's broker, so it lives in its own test
//! binary (cargo runs test binaries one after another).

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

fn assert_error_within_client_wait(ws: &mut WsClient, frame: &str) {
    let started = Instant::now();
    let answer = ws.roundtrip(frame);
    assert_eq!(answer["status"], "error", "no ok without a broker ack: {answer}");
    assert!(answer["error"].as_str().unwrap().starts_with("Kafka did not acknowledge"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(15), "answered within the client's wait");
}

#[test]
fn readiness_follows_the_broker_through_a_restart() {
    let frontier = Frontier::start(&[("KAFKA_MESSAGE_TIMEOUT_MS", "3000")]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(10));
    let mut ws = frontier.ws(&unique_run_id());

    local_stack("kafka-stop");
    let degraded = wait_for_readiness(&frontier, 503, Duration::from_secs(15));
    assert_eq!(degraded["status"], "degraded");
    assert!(degraded["checks"]["kafka"].as_str().unwrap().starts_with("error: "), "{degraded}");
    assert_eq!(degraded["checks"]["blob"], "ok");
    assert_error_within_client_wait(&mut ws, r#"{"type":"add_tag","tag_name":"during-outage"}"#);

    local_stack("kafka-start");
    wait_for_readiness(&frontier, 200, Duration::from_secs(30));
}
