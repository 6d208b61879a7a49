//! Rebalancing long-lived connections over replicas, losslessly:
//! - `WS_MAX_CONNECTION_AGE`: a connection past its age gets a Close (1012)
//!   in place of the answer to its next frame, and that frame is in Kafka;
//! - stock `matyan-client` 0.3.0 processes, closed every few seconds that
//!   way, reconnect and lose no tracked point;
//! - SIGUSR1 closes every connection (1012) spread over `WS_DRAIN_SPREAD`,
//!   readiness answers 503 `draining` meanwhile, and the process serves on.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;

/// Reads until the server's Close, for at most `within`: its code, and any answer that came before it.
fn read_until_close(ws: &mut WsClient, within: Duration) -> (Option<CloseCode>, Vec<String>) {
    let deadline = Instant::now() + within;
    // The server's pings would reset a long read timeout: short reads, against the deadline.
    if let MaybeTlsStream::Plain(stream) = ws.socket.get_ref() {
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    }
    let mut answers = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "no Close within {within:?}; answers: {answers:?}");
        match ws.socket.read() {
            Ok(tungstenite::Message::Text(text)) => answers.push(text.to_string()),
            Ok(tungstenite::Message::Close(frame)) => return (frame.map(|f| f.code), answers),
            Ok(_) => {}
            Err(tungstenite::Error::Io(error)) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("connection ended without a Close: {error}"),
        }
    }
}

#[test]
fn a_connection_past_its_max_age_closes_with_1012_and_its_last_frame_is_in_kafka() {
    // Age 2 s ± 10 %; the Close waits up to 5 s for a frame to take the place of its answer.
    let frontier = Frontier::start(&[("WS_MAX_CONNECTION_AGE", "2"), ("WS_CLOSE_DRAIN_DEADLINE_MS", "5000")]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"young"}"#), ok_answer(), "a young connection is answered");
    std::thread::sleep(Duration::from_millis(2_500));
    ws.send(r#"{"type":"add_tag","tag_name":"at-its-age"}"#);
    // Its age passed 0.3 s ago at the latest: the Close answers this frame.
    let (code, answers) = read_until_close(&mut ws, Duration::from_secs(5));
    assert_eq!(code, Some(CloseCode::Restart), "past its age: 1012, not an answer ({answers:?})");
    assert!(answers.is_empty(), "the Close goes out in place of the answer: {answers:?}");
    let records = records_for(&run_id, 2, Duration::from_secs(20));
    let tags: Vec<&Value> = records.iter().map(|r| &r.value["payload"]["tag_name"]).collect();
    assert_eq!(tags, ["young", "at-its-age"], "the frame the Close answered is published");
    assert!(frontier.log_text().contains("reached its maximum age: closing (1012)"), "{}", frontier.log_text());
}

#[test]
fn stock_clients_closed_at_their_max_age_reconnect_and_lose_no_tracked_point() {
    const CLIENTS: usize = 4;
    const POINTS: usize = 1_500;
    const INTERVAL_MS: u64 = 10;
    // Each client streams for about 15 s: closed every 3 s or so, about four times.
    let frontier = Frontier::start(&[("WS_MAX_CONNECTION_AGE", "3")]);
    let clients: Vec<_> = (0..CLIENTS).map(|_| StockClient::stream_points(&frontier.url(""), POINTS, INTERVAL_MS)).collect();
    let reports: Vec<Value> = clients.into_iter().map(StockClient::report).collect();
    let run_ids: Vec<&str> = reports.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    let records = records_of_runs(&run_ids, CLIENTS * POINTS, Duration::from_secs(60));
    let lost = metric_points_lost(&records, &run_ids, POINTS);
    let log = frontier.log_text();
    let aged_out = log.matches("reached its maximum age").count();
    let connections = log.lines().filter(|line| line.ends_with(" connected")).count();
    let dropped_by_clients: u64 = reports.iter().map(|r| r["transport"]["dropped"].as_u64().unwrap()).sum();
    eprintln!(
        "{CLIENTS} stock clients x {POINTS} points, max age 3 s: {connections} connections, {aged_out} closed for their age; \
         lost {lost}; the clients count {dropped_by_clients} messages as dropped"
    );
    assert!(aged_out >= CLIENTS, "every client was closed at least once for its age: {aged_out}");
    assert!(connections > CLIENTS, "the clients reconnected: {connections} connections");
    assert_eq!(lost, 0, "every tracked point is in Kafka");
}

#[test]
fn sigusr1_drains_every_connection_within_the_spread_and_the_process_serves_on() {
    const CONNECTIONS: usize = 10;
    const SPREAD: Duration = Duration::from_secs(3);
    let frontier = Frontier::start(&[("WS_DRAIN_SPREAD", "3"), ("WS_CLOSE_DRAIN_DEADLINE_MS", "500")]);
    let sockets: Vec<WsClient> = (0..CONNECTIONS)
        .map(|_| {
            let mut ws = frontier.ws(&unique_run_id());
            assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"a"}"#), ok_answer());
            ws
        })
        .collect();
    let signalled = Instant::now();
    frontier.signal("USR1");
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| std::thread::spawn(move || (read_until_close(&mut ws, SPREAD + Duration::from_secs(5)).0, signalled.elapsed())))
        .collect();
    let draining = wait_for_readiness(&frontier, 503, Duration::from_secs(2));
    assert_eq!(draining["status"], "draining", "{draining}");
    let mut closed: Vec<(Option<CloseCode>, Duration)> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    closed.sort_by_key(|(_, at)| *at);
    let (first, last) = (closed[0].1, closed[CONNECTIONS - 1].1);
    eprintln!("SIGUSR1, spread 3 s, {CONNECTIONS} idle connections: closed from {first:?} to {last:?}");
    assert!(closed.iter().all(|(code, _)| *code == Some(CloseCode::Restart)), "{closed:?}");
    // Each gets its Close at the drain deadline (0.5 s) after it is told; the last is told at 9/10 of the spread.
    assert!(last <= SPREAD + Duration::from_secs(2), "every connection closed within the spread: {last:?}");
    assert!(last - first >= SPREAD / 2, "the closes are spread, not all at once: {first:?} to {last:?}");

    wait_for_readiness(&frontier, 200, Duration::from_secs(5));
    let mut ws = frontier.ws(&unique_run_id());
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"after-the-drain"}"#), ok_answer(), "the process serves on");
    assert!(frontier.log_text().contains("drain done: 10 connections told to reconnect"), "{}", frontier.log_text());
}
