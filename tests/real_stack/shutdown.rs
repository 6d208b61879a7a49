//! SIGTERM with frames in flight: every frame the server received is answered,
//! every `ok` is in Kafka, the session closes with 1001 and the process exits 0.

use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::json;
use tungstenite::protocol::frame::coding::CloseCode;

#[test]
fn sigterm_answers_received_frames_then_closes_with_1001() {
    let mut frontier = Frontier::start(&[("SHUTDOWN_FLUSH_TIMEOUT", "10")]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let frames = 20;
    for frame in 0..frames {
        let batch: Vec<_> = (0..100).map(|i| json!({"type":"log_terminal_line","line":"x","step":frame * 100 + i})).collect();
        ws.send(&serde_json::Value::Array(batch).to_string());
    }
    assert_eq!(ws.answer(), ok_answer(), "the server is working on the frames");
    let mut acked = 1;
    frontier_terminate_in_background(&frontier);
    let close_code = loop {
        match ws.socket.read() {
            Ok(tungstenite::Message::Text(text)) => {
                let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(answer, ok_answer(), "a received frame is published, not dropped");
                acked += 1;
            }
            Ok(tungstenite::Message::Close(frame)) => break frame.map(|f| f.code),
            Ok(_) => {}
            Err(error) => panic!("connection ended without a close frame: {error}"),
        }
    };
    assert_eq!(close_code, Some(CloseCode::Away));
    let status = frontier.terminate();
    assert!(status.success(), "{status}: {}", frontier.log_text());
    let records = records_for(&run_id, acked * 100, Duration::from_secs(20));
    assert!(records.len() >= acked * 100, "{} records for {acked} acked frames", records.len());
    let steps: Vec<i64> = records.iter().map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
    assert_eq!(&steps[..acked * 100], &(0..(acked as i64) * 100).collect::<Vec<_>>()[..], "acked frames are complete and in order");
    assert!(frontier.log_text().contains("every received frame was answered"), "{}", frontier.log_text());
}

/// 50 clients streaming 10-message frames, stop and wait, when SIGTERM comes:
/// each is closed with 1001 after its last answer, the process exits 0 within
/// `SHUTDOWN_FLUSH_TIMEOUT` and a margin, and every acked message is in Kafka.
#[test]
fn sigterm_with_50_clients_streaming_closes_every_session_and_loses_no_acked_message() {
    const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
    let mut frontier = Frontier::start(&[("SHUTDOWN_FLUSH_TIMEOUT", "5")]);
    let clients: Vec<_> = (0..50)
        .map(|_| {
            let run_id = unique_run_id();
            let mut ws = frontier.ws(&run_id);
            std::thread::spawn(move || {
                let mut acked = 0;
                let close = loop {
                    let frame: Vec<_> =
                        (acked..acked + 10).map(|step| json!({"type": "log_terminal_line", "line": "x", "step": step})).collect();
                    if ws.socket.send(tungstenite::Message::text(serde_json::Value::Array(frame).to_string())).is_err() {
                        break None;
                    }
                    match ws.socket.read() {
                        Ok(tungstenite::Message::Text(text)) => {
                            assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), ok_answer());
                            acked += 10;
                        }
                        Ok(tungstenite::Message::Close(close)) => break close.map(|c| c.code),
                        other => panic!("after {acked} acked: {other:?}"),
                    }
                };
                (run_id, acked, close)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let signalled = Instant::now();
    frontier_terminate_in_background(&frontier);
    let status = frontier.terminate();
    let exit_after = signalled.elapsed();
    assert!(status.success(), "{status}: {}", frontier.log_text());
    assert!(exit_after < FLUSH_TIMEOUT + Duration::from_secs(2), "exited {exit_after:?} after SIGTERM");

    let runs: Vec<(String, usize, Option<CloseCode>)> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let total: usize = runs.iter().map(|(_, acked, _)| acked).sum();
    let run_ids: Vec<&str> = runs.iter().map(|(run_id, _, _)| run_id.as_str()).collect();
    let records = records_of_runs(&run_ids, total, Duration::from_secs(60));
    for (run_id, acked, close) in &runs {
        assert_eq!(*close, Some(CloseCode::Away), "run {run_id}: closed with 1001");
        let steps: Vec<i64> =
            records.iter().filter(|r| r.key == run_id.as_bytes()).map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
        assert_eq!(steps, (0..*acked as i64).collect::<Vec<_>>(), "run {run_id}: exactly the acked messages, in order");
    }
    assert!(total > 0, "the clients streamed before the signal");
    eprintln!("SIGTERM with 50 clients streaming: exit 0 after {exit_after:?}, {total} acked messages all in Kafka");
}

fn frontier_terminate_in_background(frontier: &Frontier) {
    std::process::Command::new("kill").arg("-TERM").arg(frontier.pid().to_string()).status().unwrap();
}
