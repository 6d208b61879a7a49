//! WebSocket → Kafka, against the real broker: every message type is read back
//! with its key, envelope and payload; frames are all-or-nothing; order holds.

use std::time::Duration;

use crate::support::*;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

fn assert_envelope(record: &Record, run_id: &str, message_type: &str) {
    assert_eq!(record.key, run_id.as_bytes());
    assert!(!record.has_headers, "records carry no headers");
    let value = record.value.as_object().unwrap();
    assert_eq!(value.keys().collect::<Vec<_>>(), ["payload", "run_id", "timestamp", "type"]);
    assert_eq!(value["type"], message_type);
    assert_eq!(value["run_id"], run_id);
    let timestamp = value["timestamp"].as_str().unwrap();
    // 2026-11-26T17:16:28.681418Z: UTC, microseconds, Z.
    assert_eq!(timestamp.len(), 27, "{timestamp}");
    assert!(timestamp.ends_with('Z') && timestamp.as_bytes()[19] == b'.', "{timestamp}");
}

#[test]
fn every_message_type_lands_in_kafka_as_the_protocol_says() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let cases: Vec<(Value, &str, Value)> = vec![
        (
            json!({"type":"create_run","client_datetime":"2026-11-26T10:00:00Z","run_id":"ignored"}),
            "create_run",
            json!({"client_datetime":"2026-11-26T10:00:00+00:00","force_resume":false}),
        ),
        (
            json!({"type":"log_hparams","value":{"lr":0.001,"layers":[64,64]}}),
            "log_hparams",
            json!({"value":{"lr":0.001,"layers":[64,64]}}),
        ),
        (
            json!({"type":"log_metric","name":"loss","value":1,"step":"2","epoch":0.0,"context":{"subset":"train"},"dtype":"float","client_datetime":"2026-11-26T10:00:00.123456+02:00"}),
            "log_metric",
            json!({"name":"loss","value":1.0,"step":2,"epoch":0,"context":{"subset":"train"},"dtype":"float","client_datetime":"2026-11-26T10:00:00.123456+02:00"}),
        ),
        (
            json!({"type":"set_run_property","name":"r","experiment":"e","description":null}),
            "set_run_property",
            json!({"name":"r","experiment":"e"}),
        ),
        (json!({"type":"add_tag","tag_name":"best"}), "add_tag", json!({"tag_name":"best"})),
        (json!({"type":"remove_tag","tag_name":"best"}), "remove_tag", json!({"tag_name":"best"})),
        (
            json!({"type":"log_custom_object","name":"img","value":{"s3_key":"k"},"step":1}),
            "log_custom_object",
            json!({"name":"img","value":{"s3_key":"k"},"step":1,"epoch":null,"context":null,"dtype":"custom"}),
        ),
        (json!({"type":"log_terminal_line","line":"epoch 1 done","step":4}), "log_terminal_line", json!({"line":"epoch 1 done","step":4})),
        (
            json!({"type":"log_record","message":"hello","level":20,"timestamp":1795687200,"extra_args":{"a":1}}),
            "log_record",
            json!({"message":"hello","level":20,"timestamp":1795687200.0,"extra_args":{"a":1}}),
        ),
        (
            json!({"type":"blob_ref","s3_key":"r/a b.png","artifact_path":"a b.png"}),
            "blob_ref",
            json!({"s3_key":"r/a b.png","artifact_path":"a b.png","content_type":"application/octet-stream"}),
        ),
        (json!({"type":"finish_run","client_datetime":"2026-11-26T10:00:00Z"}), "finish_run", json!({})),
    ];
    for (message, _, _) in &cases {
        assert_eq!(ws.roundtrip(&message.to_string()), ok_answer(), "{message}");
    }
    let records = records_for(&run_id, cases.len(), WAIT);
    assert_eq!(records.len(), cases.len());
    for (record, (_, message_type, payload)) in records.iter().zip(&cases) {
        assert_envelope(record, &run_id, message_type);
        assert_eq!(&record.value["payload"], payload, "{message_type}");
    }
}

#[test]
fn a_batch_keeps_its_order_on_the_reference_partition() {
    let frontier = Frontier::start(&[]);
    // PROTOCOL.md: with 6 partitions this key goes to partition 1 (murmur2, as Java).
    let run_id = "b5cbc18e2aca42ec96d793e1e5b16ecb";
    let marker = unique_run_id();
    let batch: Vec<Value> = (0..100)
        .map(|step| json!({"type":"log_metric","name":marker,"value":step as f64 / 10.0,"step":step,"epoch":null,"context":null,"dtype":null,"client_datetime":1795687200}))
        .collect();
    let mut ws = frontier.ws(run_id);
    assert_eq!(ws.roundtrip(&Value::Array(batch).to_string()), ok_answer());
    // The fixed run id is reused across runs of this test: keep only this batch.
    let records: Vec<Record> =
        records_for(run_id, 100, WAIT).into_iter().filter(|r| r.value["payload"]["name"] == marker.as_str()).collect();
    assert_eq!(records.len(), 100);
    assert!(records.iter().all(|r| r.partition == 1), "partition must match the reference's murmur2");
    let steps: Vec<i64> = records.iter().map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
    assert_eq!(steps, (0..100).collect::<Vec<_>>());
}

#[test]
fn an_invalid_frame_publishes_nothing_and_the_connection_stays_open() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let good = json!({"type":"add_tag","tag_name":"kept"});
    let bad_frame = json!([{"type":"add_tag","tag_name":"lost-1"}, {"type":"add_tag","tag_name":"lost-2"}, {"type":"log_metric","name":"m","value":"abc"}]);
    let answer = ws.roundtrip(&bad_frame.to_string());
    assert_eq!(answer["status"], "error");
    assert_eq!(answer["error"], "message 2: field 'value': expected a number, got a non-numeric string");
    // Each bad input gets an error answer naming what is wrong; none closes the connection.
    let bad_inputs = [
        ("{not json", "invalid JSON"),
        ("\"just a string\"", "a frame must be a JSON object or an array of objects"),
        (r#"{"type":"delete_run"}"#, "message 0: field 'type': unknown message type 'delete_run'"),
        (r#"[{"type":"add_tag"}]"#, "message 0: field 'tag_name': field required"),
        (r#"{"type":"log_hparams","value":"{}"}"#, "message 0: field 'value': expected an object, got a string"),
    ];
    for (frame, expected) in bad_inputs {
        let answer = ws.roundtrip(frame);
        assert_eq!(answer["status"], "error", "{frame}");
        assert!(answer["error"].as_str().unwrap().starts_with(expected), "{frame}: {answer}");
    }
    ws.socket.send(tungstenite::Message::binary(vec![1, 2, 3])).unwrap();
    assert_eq!(ws.answer()["error"], "binary frames are not supported: send JSON text frames");
    assert_eq!(ws.roundtrip(&good.to_string()), ok_answer());
    let records = records_for(&run_id, 1, WAIT);
    assert_eq!(records.len(), 1, "only the valid frame is published");
    assert_eq!(records[0].value["payload"]["tag_name"], "kept");
}

#[test]
fn non_finite_numbers_from_python_are_accepted_and_published_as_null() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    // What Python's json.dumps writes for a diverged loss.
    let frame = r#"[{"type":"log_metric","name":"loss","value":NaN,"step":1,"epoch":null,"context":{"best":-Infinity},"dtype":null,"client_datetime":"2026-11-26T10:00:00Z"},
                    {"type":"log_metric","name":"loss","value":Infinity,"step":2,"epoch":null,"context":null,"dtype":null,"client_datetime":"2026-11-26T10:00:00Z"}]"#;
    assert_eq!(ws.roundtrip(frame), ok_answer());
    let records = records_for(&run_id, 2, WAIT);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].value["payload"]["value"], Value::Null);
    assert_eq!(records[0].value["payload"]["context"], json!({"best": null}));
    assert_eq!(records[1].value["payload"]["value"], Value::Null);
}

#[test]
fn pipelined_frames_are_answered_in_order() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let frames: Vec<String> = (0..20)
        .map(|i| {
            if i % 5 == 3 {
                "{bad".to_string()
            } else {
                json!([{"type":"log_terminal_line","line":format!("line {i}"),"step":i}]).to_string()
            }
        })
        .collect();
    for frame in &frames {
        ws.send(frame);
    }
    for (i, _) in frames.iter().enumerate() {
        let answer = ws.answer();
        let expected = if i % 5 == 3 { "error" } else { "ok" };
        assert_eq!(answer["status"], expected, "answer {i}");
    }
    let records = records_for(&run_id, 16, WAIT);
    let steps: Vec<i64> = records.iter().map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
    assert_eq!(steps, (0..20).filter(|i| i % 5 != 3).collect::<Vec<_>>());
}

#[test]
fn identical_frames_pipelined_are_each_answered_and_published() {
    // Only a frame read 10 s or more after its unanswered twin is taken for the stock client's resend.
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    const FRAMES: usize = 20;
    for _ in 0..FRAMES {
        ws.send(r#"{"type":"add_tag","tag_name":"same"}"#);
    }
    for i in 0..FRAMES {
        assert_eq!(ws.answer(), ok_answer(), "answer {i}");
    }
    assert_eq!(records_for(&run_id, FRAMES, WAIT).len(), FRAMES);
}

#[test]
fn bad_run_ids_are_refused_at_the_upgrade() {
    let frontier = Frontier::start(&[]);
    // Each gets 400 with a JSON detail, before any WebSocket exists.
    for (run_id, why) in [
        (".", "run_id must not contain"),
        ("..", "run_id must not contain"),
        ("%0A", "run_id must not contain"),
        (&"x".repeat(129), "at most 128"),
    ] {
        match upgrade(&frontier.ws_url(run_id), None) {
            Err(response) => {
                assert_eq!(response.status(), 400, "{run_id}");
                let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
                assert!(body["detail"].as_str().unwrap().contains(why), "{run_id}: {body}");
            }
            Ok(_) => panic!("{run_id}: expected a 400 refusal, got an open WebSocket"),
        }
    }
}
