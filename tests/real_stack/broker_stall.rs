//! The broker stalls, with the producer's defaults (idempotence on): the
//! local stack's second memory broker is frozen with SIGSTOP, as a GC pause,
//! a network blip or a leader election looks from the gateway.
//! - Stock `matyan-client` 0.3.0 processes stream through a freeze and lose no
//!   tracked point (15 s here; `MATYAN_STALL_SECS=30` or `60` for the long
//!   forms); readiness is 503 during the stall and 200 after it, and the
//!   gateway serves again without a restart.
//! - A frame resent while its original is unanswered (the stock client does so
//!   after 15 s without an answer) is published once and answered once.
//!
//! The tests freeze that broker, so they take turns.

use std::time::{Duration, Instant};

use crate::support::*;
use rdkafka::ClientConfig;
use serde_json::Value;

fn start_on_stall_broker() -> Frontier {
    let bootstrap = STALL_BROKER.bootstrap();
    let frontier = Frontier::start(&[("KAFKA_BOOTSTRAP_SERVERS", bootstrap.as_str())]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(10));
    frontier
}

fn stall_records(run_ids: &[&str], expected: usize) -> Vec<Record> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", STALL_BROKER.bootstrap());
    records_with(config, run_ids, expected, Duration::from_secs(60))
}

/// Frames absorbed as resends so far.
fn resent_frames(frontier: &Frontier) -> f64 {
    frontier.metric(r#"matyan_ws_frames_total{result="resent"}"#).unwrap_or(0.0)
}

#[test]
fn stock_clients_lose_no_tracked_point_through_a_broker_freeze() {
    let freeze = Duration::from_secs(std::env::var("MATYAN_STALL_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(15));
    const CLIENTS: usize = 4;
    const INTERVAL_MS: u64 = 10;
    // Streaming lasts the freeze plus 10 s around it.
    let points = (freeze.as_millis() as usize + 10_000) / INTERVAL_MS as usize;
    let _broker = STALL_BROKER.take_turn();
    let frontier = start_on_stall_broker();
    let clients: Vec<_> = (0..CLIENTS).map(|_| StockClient::stream_points(&frontier.url(""), points, INTERVAL_MS)).collect();

    std::thread::sleep(Duration::from_secs(4));
    let frozen = STALL_BROKER.freeze();
    let degraded = wait_for_readiness(&frontier, 503, Duration::from_secs(10));
    assert!(degraded["checks"]["kafka"].as_str().unwrap().starts_with("error: broker unreachable"), "{degraded}");
    std::thread::sleep(freeze.saturating_sub(Duration::from_secs(3)));
    drop(frozen);
    wait_for_readiness(&frontier, 200, Duration::from_secs(30));

    let runs: Vec<Value> = clients.into_iter().map(StockClient::report).collect();
    let run_ids: Vec<&str> = runs.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    let records = stall_records(&run_ids, CLIENTS * points);
    let (mut lost, mut duplicates) = (0, 0);
    for run_id in &run_ids {
        let steps: Vec<i64> = records
            .iter()
            .filter(|r| r.key == run_id.as_bytes() && r.value["type"] == "log_metric")
            .map(|r| r.value["payload"]["step"].as_i64().unwrap())
            .collect();
        let mut distinct = steps.clone();
        distinct.sort_unstable();
        distinct.dedup();
        lost += points - distinct.len();
        duplicates += steps.len() - distinct.len();
        let first_seen: Vec<i64> = steps.iter().scan(-1, |max, &s| Some((s > *max).then(|| *max = s).map(|_| s))).flatten().collect();
        assert_eq!(first_seen.len(), distinct.len(), "run {run_id}: each step first appears in order");
    }
    let resent = resent_frames(&frontier);
    eprintln!(
        "freeze {} s: {CLIENTS} stock clients x {points} points, lost {lost}, duplicates {duplicates}, resends absorbed {resent}, client reports {runs:?}",
        freeze.as_secs()
    );
    if freeze <= Duration::from_secs(40) {
        assert_eq!(lost, 0, "no tracked point lost for a freeze within the client's patience");
        assert_eq!(duplicates, 0, "resends are absorbed, not published twice");
    }
    // Serving again, without a restart.
    let mut ws = frontier.ws(&unique_run_id());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = ws.roundtrip(r#"{"type":"add_tag","tag_name":"after-the-freeze"}"#);
        if answer == ok_answer() {
            break;
        }
        assert!(Instant::now() < deadline, "not serving 30 s after the clients finished: {answer}\n{}", frontier.log_text());
    }
}

#[test]
fn a_frame_resent_while_unanswered_is_published_and_answered_once() {
    let _broker = STALL_BROKER.take_turn();
    let frontier = start_on_stall_broker();
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let frame = r#"[{"type":"add_tag","tag_name":"once"},{"type":"log_terminal_line","line":"x","step":1}]"#;
    let frozen = STALL_BROKER.freeze();
    ws.send(frame);
    // The stock client resends after 15 s without an answer; one sent 10 s on is taken for that resend.
    std::thread::sleep(Duration::from_millis(10_500));
    ws.send(frame);
    // One byte different: a new frame, published on its own.
    ws.send(&frame.replace("\"x\"", "\"y\""));
    std::thread::sleep(Duration::from_secs(1));
    drop(frozen);
    assert_eq!(ws.answer(), ok_answer(), "the original's answer");
    assert_eq!(ws.answer(), ok_answer(), "the different frame's answer");
    // Had the resend been answered too, its answer would arrive before this one's.
    assert_eq!(ws.roundtrip(r#"{"type":"delete_run"}"#)["status"], "error", "answers are in step");
    ws.send(frame);
    assert_eq!(ws.answer(), ok_answer(), "sent again after its answer: a new frame");

    let records = stall_records(&[&run_id], 6);
    let tags: Vec<&Value> = records.iter().map(|r| &r.value["payload"]).collect();
    assert_eq!(records.len(), 6, "published once per frame, the resend not at all: {tags:?}");
    assert_eq!(resent_frames(&frontier), 1.0);
}

#[test]
fn a_frame_held_past_the_deadline_is_answered_before_the_client_gives_up() {
    let _broker = STALL_BROKER.take_turn();
    let bootstrap = STALL_BROKER.bootstrap();
    let frontier = Frontier::start(&[("KAFKA_BOOTSTRAP_SERVERS", bootstrap.as_str()), ("WS_ANSWER_DEADLINE_MS", "3000")]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(10));
    let mut ws = frontier.ws(&unique_run_id());
    let frozen = STALL_BROKER.freeze();
    let sent = Instant::now();
    let answer = ws.roundtrip(r#"{"type":"add_tag","tag_name":"held"}"#);
    let waited = sent.elapsed();
    drop(frozen);
    assert_eq!(answer["status"], "error", "{answer}");
    // librdkafka gives up 1 s before the deadline (its timeout scan runs every second), the session at the deadline.
    assert!(waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5), "answered by the deadline: {waited:?}");
}
