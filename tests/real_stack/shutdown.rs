//! SIGTERM and SIGINT, run on the binary:
//! - with frames in flight, every frame the client sent is published, the
//!   answers that leave before the Close are `ok`, the session closes with
//!   1001 and the process exits 0;
//! - a broker that stalls during the shutdown is waited out, as long as the
//!   answer deadline allows, not cut by `SHUTDOWN_FLUSH_TIMEOUT`;
//! - a second signal exits at once, with a non-zero code.
//!
//! The tests on the stall broker freeze it, so they take its turn.

use std::time::{Duration, Instant};

use crate::support::*;
use rdkafka::ClientConfig;
use serde_json::json;
use tungstenite::protocol::frame::coding::CloseCode;

/// Frames of 100 messages, steps `frame * 100 ..`.
fn terminal_lines(frame: usize) -> String {
    let batch: Vec<_> = (0..100).map(|i| json!({"type":"log_terminal_line","line":"x","step":frame * 100 + i})).collect();
    serde_json::Value::Array(batch).to_string()
}

/// Reads answers until the Close: how many, all `ok`, and the close code.
fn answers_until_close(ws: &mut WsClient) -> (usize, Option<CloseCode>) {
    let mut answered = 0;
    loop {
        match ws.socket.read() {
            Ok(tungstenite::Message::Text(text)) => {
                let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(answer, ok_answer(), "a received frame is published, not dropped");
                answered += 1;
            }
            Ok(tungstenite::Message::Close(frame)) => return (answered, frame.map(|f| f.code)),
            Ok(_) => {}
            Err(error) => panic!("connection ended without a close frame: {error}"),
        }
    }
}

#[test]
fn sigterm_publishes_every_frame_sent_then_closes_with_1001() {
    let mut frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let frames = 20;
    for frame in 0..frames {
        ws.send(&terminal_lines(frame));
    }
    assert_eq!(ws.answer(), ok_answer(), "the server is working on the frames");
    frontier.signal("TERM");
    let (answered, close_code) = answers_until_close(&mut ws);
    assert_eq!(close_code, Some(CloseCode::Away));
    let status = frontier.wait_for_exit(Duration::from_secs(30)).expect("exits");
    assert!(status.success(), "{status}: {}", frontier.log_text());
    // The frames after the Close were read while draining: all of them are in Kafka.
    let records = records_for(&run_id, frames * 100, Duration::from_secs(20));
    let steps: Vec<i64> = records.iter().map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
    assert_eq!(steps, (0..(frames as i64) * 100).collect::<Vec<_>>(), "every frame sent, once, in order");
    assert!(frontier.log_text().contains("every session closed and every record delivered"), "{}", frontier.log_text());
    eprintln!("SIGTERM with {frames} frames pipelined: {} answered before the close, all {frames} in Kafka", answered + 1);
}

/// 50 clients streaming 10-message frames, stop and wait, when SIGTERM comes:
/// each gets its Close (1001) in place of an answer, the process exits 0
/// within a few seconds, and every frame a client sent is in Kafka, the one
/// the Close answered included.
#[test]
fn sigterm_with_50_clients_streaming_closes_every_session_and_loses_no_frame() {
    let mut frontier = Frontier::start(&[]);
    let clients: Vec<_> = (0..50)
        .map(|_| {
            let run_id = unique_run_id();
            let mut ws = frontier.ws(&run_id);
            std::thread::spawn(move || {
                let (mut sent, mut acked) = (0, 0);
                let close = loop {
                    let frame: Vec<_> =
                        (sent..sent + 10).map(|step| json!({"type": "log_terminal_line", "line": "x", "step": step})).collect();
                    if ws.socket.send(tungstenite::Message::text(serde_json::Value::Array(frame).to_string())).is_err() {
                        break None;
                    }
                    sent += 10;
                    match ws.socket.read() {
                        Ok(tungstenite::Message::Text(text)) => {
                            assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), ok_answer());
                            acked += 10;
                        }
                        Ok(tungstenite::Message::Close(close)) => break close.map(|c| c.code),
                        other => panic!("after {acked} acked: {other:?}"),
                    }
                };
                // Sends the client's Close, as the stock client does.
                let _ = ws.socket.flush();
                (run_id, sent, acked, close)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let signalled = Instant::now();
    let status = frontier.terminate();
    let exit_after = signalled.elapsed();
    assert!(status.success(), "{status}: {}", frontier.log_text());
    // Streaming clients get their Close at their next frame: no deadline is waited for.
    assert!(exit_after < Duration::from_secs(5), "exited {exit_after:?} after SIGTERM");

    let runs: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let total: usize = runs.iter().map(|(_, sent, _, _)| sent).sum();
    let run_ids: Vec<&str> = runs.iter().map(|(run_id, ..)| run_id.as_str()).collect();
    let records = records_of_runs(&run_ids, total, Duration::from_secs(60));
    for (run_id, sent, acked, close) in &runs {
        assert_eq!(*close, Some(CloseCode::Away), "run {run_id}: closed with 1001");
        assert_eq!(sent - acked, 10, "run {run_id}: the Close took the place of one answer");
        let steps: Vec<i64> =
            records.iter().filter(|r| r.key == run_id.as_bytes()).map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
        assert_eq!(steps, (0..*sent as i64).collect::<Vec<_>>(), "run {run_id}: every message sent, once, in order");
    }
    eprintln!("SIGTERM with 50 clients streaming: exit 0 after {exit_after:?}, all {total} messages sent are in Kafka");
}

fn start_on_stall_broker() -> Frontier {
    let bootstrap = STALL_BROKER.bootstrap();
    let frontier = Frontier::start(&[("KAFKA_BOOTSTRAP_SERVERS", bootstrap.as_str())]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(10));
    frontier
}

/// Longer than `SHUTDOWN_FLUSH_TIMEOUT` (5 s), shorter than the answer deadline (40 s).
const HICCUP: Duration = Duration::from_secs(7);

#[test]
fn a_broker_stall_during_shutdown_is_waited_out_not_cut() {
    let _broker = STALL_BROKER.take_turn();
    let mut frontier = start_on_stall_broker();
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let frozen = STALL_BROKER.freeze();
    ws.send(&terminal_lines(0));
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    frontier.signal("TERM");
    std::thread::sleep(HICCUP);
    assert!(frontier.wait_for_exit(Duration::ZERO).is_none(), "the shutdown waits for the held frame: {}", frontier.log_text());
    drop(frozen);
    let (_, close_code) = answers_until_close(&mut ws);
    assert_eq!(close_code, Some(CloseCode::Away));
    let status = frontier.wait_for_exit(Duration::from_secs(30)).expect("exits once the frame is acknowledged");
    eprintln!("a {HICCUP:?} broker stall during shutdown: exit {status} {:?} after SIGTERM", signalled.elapsed());
    assert!(status.success(), "{status}: {}", frontier.log_text());
    assert!(frontier.log_text().contains("every session closed and every record delivered"), "{}", frontier.log_text());
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", STALL_BROKER.bootstrap());
    let records = records_with(config, &[&run_id], 100, Duration::from_secs(30));
    assert_eq!(records.len(), 100, "the frame held through the stall is in Kafka");
}

#[test]
fn a_second_signal_exits_at_once() {
    let _broker = STALL_BROKER.take_turn();
    for (second, code) in [("INT", 130), ("TERM", 143)] {
        let mut frontier = start_on_stall_broker();
        let mut ws = frontier.ws(&unique_run_id());
        let _frozen = STALL_BROKER.freeze();
        ws.send(&terminal_lines(0));
        frontier.signal("TERM");
        std::thread::sleep(Duration::from_secs(1));
        assert!(frontier.wait_for_exit(Duration::ZERO).is_none(), "the first signal waits for the held frame");
        let signalled = Instant::now();
        frontier.signal(second);
        let status = frontier.wait_for_exit(Duration::from_secs(2)).expect("the second signal exits at once");
        assert_eq!(status.code(), Some(code), "SIG{second}: {}", frontier.log_text());
        assert!(frontier.log_text().contains(&format!("SIG{second} received again during shutdown")), "{}", frontier.log_text());
        eprintln!("SIGTERM then SIG{second}: exit {code} {:?} after the second", signalled.elapsed());
    }
}
