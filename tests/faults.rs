//! Faults on the gateway side: a client that never reads its answers, and a
//! gateway killed with SIGKILL under load. An `ok` must always mean "in Kafka".

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn a_client_that_does_not_read_is_bounded_and_every_ok_is_in_kafka() {
    let frontier = Frontier::start(&[("WS_MAX_FRAMES_IN_FLIGHT", "4")]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let frames = 200;
    for step in 0..frames {
        ws.send(&json!({"type": "log_terminal_line", "line": "x", "step": step}).to_string());
    }
    let mut ok_steps = Vec::new();
    for step in 0..frames {
        let answer = ws.answer();
        if answer == ok_answer() {
            ok_steps.push(step);
        } else {
            // The only other answer: the per-connection bound, named.
            assert!(answer["error"].as_str().unwrap().starts_with("more than 4 frames are waiting"), "{answer}");
        }
    }
    let records = records_for(&run_id, ok_steps.len(), Duration::from_secs(20));
    let published: Vec<i64> = records.iter().map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
    assert_eq!(published, ok_steps, "exactly the frames answered ok are in Kafka, in order");
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"still-open"}"#), ok_answer());
}

#[test]
fn sigkill_under_load_loses_no_acked_message() {
    let mut frontier = Frontier::start(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let run_id = unique_run_id();
            let mut ws = frontier.ws(&run_id);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut acked = 0;
                let mut frame_no = 0;
                while !stop.load(Ordering::Relaxed) {
                    let frame: Vec<_> =
                        (0..10).map(|i| json!({"type": "log_terminal_line", "line": "x", "step": frame_no * 10 + i})).collect();
                    if ws.socket.send(tungstenite::Message::text(serde_json::Value::Array(frame).to_string())).is_err() {
                        break;
                    }
                    match ws.socket.read() {
                        Ok(tungstenite::Message::Text(text)) if text.contains(r#""status":"ok""#) => acked += 10,
                        _ => break,
                    }
                    frame_no += 1;
                }
                (run_id, acked)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    frontier.kill();
    stop.store(true, Ordering::Relaxed);
    let mut total_acked = 0;
    for worker in workers {
        let (run_id, acked) = worker.join().unwrap();
        total_acked += acked;
        let records = records_for(&run_id, acked, Duration::from_secs(20));
        // Every acked message is there; at most the one unanswered frame more.
        assert!(records.len() >= acked && records.len() <= acked + 10, "run {run_id}: {} records for {acked} acked", records.len());
        let steps: Vec<i64> = records.iter().map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
        assert_eq!(&steps[..acked], &(0..acked as i64).collect::<Vec<_>>()[..], "acked messages complete and in order");
    }
    assert!(total_acked > 0, "the load ran before the kill");
}
