//! Faults on the gateway side: clients that outrun their answers or never read
//! them, and a gateway killed with SIGKILL under load. An `ok` must always mean "in Kafka".

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use serde_json::json;
use tungstenite::stream::MaybeTlsStream;

/// Past `WS_MAX_FRAMES_IN_FLIGHT` the socket is not read until answers leave:
/// frames wait in TCP instead of being refused, so every one of them is `ok`.
#[test]
fn frames_past_the_in_flight_limit_wait_instead_of_failing() {
    let frontier = Frontier::start(&[("WS_MAX_FRAMES_IN_FLIGHT", "4")]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let frames = 200;
    for step in 0..frames {
        ws.send(&json!({"type": "log_terminal_line", "line": "x", "step": step}).to_string());
    }
    for step in 0..frames {
        assert_eq!(ws.answer(), ok_answer(), "frame {step}");
    }
    let records = records_for(&run_id, frames, Duration::from_secs(20));
    let published: Vec<i64> = records.iter().map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
    assert_eq!(published, (0..frames as i64).collect::<Vec<_>>(), "every frame in Kafka, in order");
    let metrics = get(&frontier.url("/metrics/")).2;
    assert!(metrics.contains("matyan_inflight_frames 0") && metrics.contains("matyan_inflight_bytes 0"), "{metrics}");
}

/// A client that sends but never reads its answers is not read either: once
/// its answers fill the socket, the gateway stops reading its frames, so its
/// writes stall (TCP backpressure) and the gateway's memory does not grow.
/// Other clients are unaffected; when it reads again, every answer is there.
#[test]
fn a_client_that_never_reads_its_answers_is_not_read_either() {
    let frontier = Frontier::start(&[]);
    let mut ws = frontier.ws(&unique_run_id());
    let MaybeTlsStream::Plain(stream) = ws.socket.get_ref() else { unreachable!("plain ws://") };
    let mut writer = stream.try_clone().unwrap();
    writer.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    // Frames `[]`: each is answered `ok` at once, without Kafka, with ~31 bytes.
    const FRAMES_PER_WRITE: usize = 10_000;
    let batch = masked_text_frame(b"[]").repeat(FRAMES_PER_WRITE);
    let rss_before = rss_kib(frontier.pid());
    let mut frames_written = 0;
    let mut stalled = false;
    // Up to 8 M frames (64 MB, 250 MB of answers): far beyond any socket buffer.
    for _ in 0..800 {
        match writer.write_all(&batch) {
            Ok(()) => frames_written += FRAMES_PER_WRITE,
            Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                stalled = true;
                break;
            }
            Err(error) => panic!("write failed: {error}"),
        }
    }
    let rss_growth_kib = rss_kib(frontier.pid()).saturating_sub(rss_before);
    assert!(stalled, "writes stalled after {frames_written} frames");
    assert!(rss_growth_kib < 32 * 1024, "gateway RSS grew {rss_growth_kib} KiB under a non-reading client");

    let mut other = frontier.ws(&unique_run_id());
    assert_eq!(other.roundtrip(r#"{"type":"add_tag","tag_name":"unaffected"}"#), ok_answer());

    // Reading again: the frames fully written before the stall are all answered ok.
    for frame in 0..frames_written {
        assert_eq!(ws.answer(), ok_answer(), "frame {frame}");
    }
    eprintln!("writes stalled after {frames_written} frames; gateway RSS grew {rss_growth_kib} KiB");
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
