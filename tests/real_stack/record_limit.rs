//! The record-size edge at the default `KAFKA_MAX_RECORD_BYTES` (1,000,000):
//! librdkafka refuses a record when its key, value and 36 bytes of framing
//! exceed `message.max.bytes`, so the gateway checks each record the same way
//! before anything of the frame is enqueued.

use std::time::Duration;

use matyan_actors::protocol::{FrameEncoder, FrameLimits, RECORD_FRAMING_BYTES};
use serde_json::json;

use crate::support::*;

const LIMIT: usize = 1_000_000;

/// `[add_tag tag, log_hparams]` whose second record, as the gateway writes it for `run_id`, is `value_bytes` long.
fn frame_with_record_of(run_id: &str, tag: &str, value_bytes: usize) -> String {
    let frame =
        |pad: usize| json!([{"type": "add_tag", "tag_name": tag}, {"type": "log_hparams", "value": {"pad": "x".repeat(pad)}}]).to_string();
    let encoder = FrameEncoder::new(run_id, FrameLimits { max_record_bytes: usize::MAX });
    let record_len = |text: &str| encoder.encode(text, chrono::Utc::now()).expect("a valid frame").record(1).len();
    let text = frame(value_bytes - record_len(&frame(0)));
    assert_eq!(record_len(&text), value_bytes);
    text
}

#[test]
fn a_frame_with_a_record_over_the_edge_is_refused_whole_and_one_at_the_edge_is_published() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    // The value alone fits the limit; with the run id and the framing it is over by half their size.
    let over = LIMIT - (RECORD_FRAMING_BYTES + run_id.len()) / 2;
    let answer = ws.roundtrip(&frame_with_record_of(&run_id, "before-an-oversized-record", over));
    assert_eq!(answer["status"], "error", "{answer}");
    let size = FrameLimits::record_bytes(run_id.len(), over);
    let why = format!("message 1: the record is {size} bytes (run id, envelope and Kafka framing), over the limit of {LIMIT} bytes");
    assert_eq!(answer["error"], why);

    // Exactly at the limit: librdkafka takes it.
    let at = LIMIT - RECORD_FRAMING_BYTES - run_id.len();
    assert_eq!(ws.roundtrip(&frame_with_record_of(&run_id, "before-a-record-at-the-limit", at)), ok_answer());
    assert_eq!(ws.roundtrip(&json!({"type": "add_tag", "tag_name": "after"}).to_string()), ok_answer());
    let records = records_for(&run_id, 3, Duration::from_secs(30));
    let types: Vec<&str> = records.iter().map(|r| r.value["type"].as_str().unwrap_or_default()).collect();
    assert_eq!(types, ["add_tag", "log_hparams", "add_tag"], "nothing of the refused frame, all of the other");
    assert_eq!(records[0].value["payload"]["tag_name"], "before-a-record-at-the-limit");
}
