//! SIGTERM with frames in flight: every frame the server received is answered,
//! every `ok` is in Kafka, the session closes with 1001 and the process exits 0.

mod common;

use std::time::Duration;

use common::*;
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

fn frontier_terminate_in_background(frontier: &Frontier) {
    std::process::Command::new("kill").arg("-TERM").arg(frontier.pid().to_string()).status().unwrap();
}
