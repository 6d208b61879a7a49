//! A close on the server's initiative (shutdown) loses nothing the client
//! sent: the Close goes out in place of an answer, and frames that cross it
//! on the wire are read and published until the client's Close.
//! - Stock `matyan-client` 0.3.0 processes stream while the frontier is
//!   SIGTERMed and started again on its port (a rolling restart): every
//!   tracked point is in Kafka, although each client logs the batch it was
//!   waiting on as dropped.
//! - A raw client: a frame sent after the server's Close is published, and
//!   nothing but the end of the connection follows the Close (RFC 6455).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::*;
use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;

#[test]
fn stock_clients_lose_no_tracked_point_when_the_frontier_restarts() {
    const CLIENTS: usize = 8;
    const INTERVAL_MS: u64 = 10;
    // 25 s of streaming: the restart comes after 6 s, and the clients' reconnection backoff takes up to about 8 s.
    const POINTS: usize = 2_500;
    let mut frontier = Frontier::start(&[]);
    let port = frontier.port.to_string();
    let clients: Vec<_> = (0..CLIENTS).map(|_| StockClient::stream_points(&frontier.url(""), POINTS, INTERVAL_MS)).collect();
    std::thread::sleep(Duration::from_secs(6));
    let status = frontier.terminate();
    assert!(status.success(), "{status}: {}", frontier.log_text());
    let first_log = frontier.log_text();
    let _restarted = Frontier::start(&[("PORT", port.as_str())]);

    let reports: Vec<Value> = clients.into_iter().map(StockClient::report).collect();
    let run_ids: Vec<&str> = reports.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    let records = records_of_runs(&run_ids, CLIENTS * POINTS, Duration::from_secs(60));
    let lost = metric_points_lost(&records, &run_ids, POINTS);
    let dropped_by_clients: u64 = reports.iter().map(|r| r["transport"]["dropped"].as_u64().unwrap()).sum();
    let after_close = first_log.matches("settled after our Close, not answered: ok").count();
    eprintln!(
        "SIGTERM and restart under {CLIENTS} stock clients x {POINTS} points: lost {lost}; the clients count {dropped_by_clients} \
         messages as dropped; {after_close} frames published unanswered after the Close"
    );
    assert_eq!(lost, 0, "every tracked point is in Kafka");
}

#[test]
fn a_frame_sent_after_the_servers_close_is_published() {
    let mut frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"before"}"#), ok_answer());
    frontier.signal("TERM");
    // An idle client gets the Close at the drain deadline.
    match ws.socket.read().expect("the server's Close") {
        tungstenite::Message::Close(Some(close)) => assert_eq!(u16::from(close.code), 1001),
        other => panic!("expected the Close, got {other:?}"),
    }
    // The frame was on the wire when the Close came: the raw bytes go out
    // before tungstenite's Close reply, then the client's own Close.
    let MaybeTlsStream::Plain(stream) = ws.socket.get_mut() else { unreachable!("plain ws://") };
    let mut stream: TcpStream = stream.try_clone().unwrap();
    stream.write_all(&masked_text_frame(br#"{"type":"add_tag","tag_name":"after-the-close"}"#)).unwrap();
    stream.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]).unwrap();
    let mut rest = Vec::new();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.read_to_end(&mut rest).expect("the server ends the connection after the client's Close");
    assert!(rest.is_empty(), "nothing follows the server's Close: {rest:?}");

    let status = frontier.wait_for_exit(Duration::from_secs(30)).expect("exits");
    assert!(status.success(), "{status}: {}", frontier.log_text());
    let records = records_for(&run_id, 2, Duration::from_secs(20));
    let tags: Vec<&Value> = records.iter().map(|r| &r.value["payload"]["tag_name"]).collect();
    assert_eq!(tags, ["before", "after-the-close"], "the frame that crossed the Close is published");
    assert!(frontier.log_text().contains("settled after our Close, not answered: ok"), "{}", frontier.log_text());
}
