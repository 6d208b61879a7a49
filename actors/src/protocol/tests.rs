use super::table::{Presence, Publish};
use super::*;
use chrono::TimeZone;
use serde_json::{json, Value};

const LIMITS: FrameLimits = FrameLimits { max_record_bytes: 1_000_000 };

fn encode(text: &str) -> Result<Vec<Value>, FrameError> {
    let received = chrono::Utc.timestamp_micros(1_795_713_681_322_055).unwrap();
    FrameEncoder::new("run-1", LIMITS)
        .encode(text, received)
        .map(|frame| frame.iter().map(|(_, record)| serde_json::from_slice(record).unwrap()).collect())
}

fn payload(text: &str) -> Value {
    let records = encode(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(records.len(), 1);
    records[0]["payload"].clone()
}

fn error(text: &str) -> String {
    encode(text).expect_err(text).to_string()
}

#[test]
fn envelope_fields() {
    let records = encode(r#"{"type":"finish_run","run_id":"ignored","client_datetime":"2026-11-26T10:00:00Z"}"#).unwrap();
    assert_eq!(records[0], json!({"type":"finish_run","run_id":"run-1","timestamp":"2026-11-26T17:21:21.322055Z","payload":{}}));
}

#[test]
fn every_message_type_publishes_its_payload() {
    let cases = [
        (
            r#"{"type":"create_run","client_datetime":"2026-11-26T10:00:00Z"}"#,
            json!({"client_datetime":"2026-11-26T10:00:00+00:00","force_resume":false}),
        ),
        (
            r#"{"type":"create_run","client_datetime":"2026-11-26T10:00:00Z","force_resume":true}"#,
            json!({"client_datetime":"2026-11-26T10:00:00+00:00","force_resume":true}),
        ),
        (
            r#"{"type":"log_metric","name":"loss","value":0.5,"step":0,"epoch":0,"context":{"subset":"train"},"dtype":"float","client_datetime":"2026-11-26T10:00:00Z"}"#,
            json!({"name":"loss","value":0.5,"step":0,"epoch":0,"context":{"subset":"train"},"dtype":"float","client_datetime":"2026-11-26T10:00:00+00:00"}),
        ),
        (r#"{"type":"log_hparams","value":{"lr":0.1,"nested":{"a":[1,2]}}}"#, json!({"value":{"lr":0.1,"nested":{"a":[1,2]}}})),
        (r#"{"type":"set_run_property","name":"n","description":null,"archived":false}"#, json!({"name":"n","archived":false})),
        (r#"{"type":"set_run_property"}"#, json!({})),
        (r#"{"type":"add_tag","tag_name":"best"}"#, json!({"tag_name":"best"})),
        (r#"{"type":"remove_tag","tag_name":"best"}"#, json!({"tag_name":"best"})),
        (
            r#"{"type":"log_custom_object","name":"img","value":{"k":"v"}}"#,
            json!({"name":"img","value":{"k":"v"},"step":null,"epoch":null,"context":null,"dtype":"custom"}),
        ),
        (
            r#"{"type":"log_custom_object","name":"img","value":{},"step":2,"epoch":1,"context":{"c":1},"dtype":"image","client_datetime":"2026-11-26"}"#,
            json!({"name":"img","value":{},"step":2,"epoch":1,"context":{"c":1},"dtype":"image"}),
        ),
        (r#"{"type":"log_terminal_line","line":"epoch 1","step":3}"#, json!({"line":"epoch 1","step":3})),
        (
            r#"{"type":"log_record","message":"hi","level":20,"timestamp":1795687200.25}"#,
            json!({"message":"hi","level":20,"timestamp":1795687200.25}),
        ),
        (
            r#"{"type":"log_record","message":"hi","level":20,"timestamp":1,"logger_info":["a.py",3],"extra_args":{"x":1}}"#,
            json!({"message":"hi","level":20,"timestamp":1.0,"logger_info":["a.py",3],"extra_args":{"x":1}}),
        ),
        (
            r#"{"type":"log_record","message":"hi","level":20,"timestamp":1,"logger_info":null,"extra_args":null}"#,
            json!({"message":"hi","level":20,"timestamp":1.0}),
        ),
        (
            r#"{"type":"blob_ref","s3_key":"r/a.png","artifact_path":"a.png"}"#,
            json!({"s3_key":"r/a.png","artifact_path":"a.png","content_type":"application/octet-stream"}),
        ),
        (
            r#"{"type":"blob_ref","s3_key":"r/a.png","artifact_path":"a.png","content_type":"image/png"}"#,
            json!({"s3_key":"r/a.png","artifact_path":"a.png","content_type":"image/png"}),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(payload(input), expected, "{input}");
    }
}

#[test]
fn log_metric_nullable_fields_must_be_present() {
    let base = r#""type":"log_metric","name":"m","value":1,"client_datetime":"2026-11-26""#;
    let nulls = payload(&format!(r#"{{{base},"step":null,"epoch":null,"context":null,"dtype":null}}"#));
    assert_eq!(
        nulls,
        json!({"name":"m","value":1.0,"step":null,"epoch":null,"context":null,"dtype":null,"client_datetime":"2026-11-26T00:00:00"})
    );
    assert_eq!(error(&format!(r#"{{{base},"epoch":null,"context":null,"dtype":null}}"#)), "message 0: field 'step': field required");
}

#[test]
fn numeric_coercions() {
    let metric = |value: &str, step: &str| {
        format!(
            r#"{{"type":"log_metric","name":"m","value":{value},"step":{step},"epoch":null,"context":null,"dtype":null,"client_datetime":1795687200}}"#
        )
    };
    let p = payload(&metric("1", "3.0"));
    assert_eq!((p["value"].clone(), p["step"].clone()), (json!(1.0), json!(3)));
    assert!(String::from_utf8(encode_raw(&metric("1", "3.0"))).unwrap().contains(r#""value":1.0,"step":3"#));
    assert_eq!(payload(&metric(r#""0.5""#, r#""4""#))["value"], json!(0.5));
    assert_eq!(payload(&metric("true", "true"))["step"], json!(1));
    assert_eq!(error(&metric("1", "1.5")), "message 0: field 'step': expected an integer, got a number with a fractional part");
    assert_eq!(error(&metric(r#"{"a":1}"#, "1")), "message 0: field 'value': expected a number, got an object");
    assert_eq!(error(&metric("null", "1")), "message 0: field 'value': expected a number, got null");
}

fn encode_raw(text: &str) -> Vec<u8> {
    FrameEncoder::new("run-1", LIMITS).encode(text, chrono::Utc::now()).unwrap().record(0).to_vec()
}

#[test]
fn non_finite_values_are_published_as_null() {
    for token in ["NaN", "Infinity", "-Infinity"] {
        let text = format!(
            r#"[{{"type":"log_metric","name":"loss","value":{token},"step":1,"epoch":null,"context":{{"x":{token}}},"dtype":null,"client_datetime":"2026-11-26T10:00:00Z"}}]"#
        );
        let p = payload(&text);
        assert_eq!((p["value"].clone(), p["context"].clone()), (Value::Null, json!({"x": null})), "{token}");
    }
}

#[test]
fn strings_and_objects_are_not_coerced() {
    assert_eq!(error(r#"{"type":"add_tag","tag_name":5}"#), "message 0: field 'tag_name': expected a string, got a number");
    assert_eq!(error(r#"{"type":"log_hparams","value":"{}"}"#), "message 0: field 'value': expected an object, got a string");
    assert_eq!(error(r#"{"type":"log_terminal_line","line":"x"}"#), "message 0: field 'step': field required");
}

#[test]
fn datetimes_are_written_in_isoformat() {
    let create = |dt: &str| payload(&format!(r#"{{"type":"create_run","client_datetime":{dt}}}"#))["client_datetime"].clone();
    assert_eq!(create(r#""2026-11-26T10:00:00.123456+02:00""#), json!("2026-11-26T10:00:00.123456+02:00"));
    assert_eq!(create("1795687200"), json!("2026-11-26T10:00:00+00:00"));
    assert_eq!(create(r#""2026-11-26""#), json!("2026-11-26T00:00:00"));
    assert_eq!(
        error(r#"{"type":"create_run","client_datetime":"soon"}"#),
        "message 0: field 'client_datetime': expected an ISO 8601 datetime, a date or a Unix timestamp"
    );
    assert_eq!(
        error(r#"{"type":"create_run","client_datetime":true}"#),
        "message 0: field 'client_datetime': expected a datetime, got a boolean"
    );
}

#[test]
fn a_frame_is_rejected_whole_and_names_the_bad_message() {
    let frame = r#"[{"type":"add_tag","tag_name":"a"},{"type":"add_tag","tag_name":"b"},{"type":"add_tag"}]"#;
    assert_eq!(error(frame), "message 2: field 'tag_name': field required");
    assert_eq!(encode(r#"[{"type":"add_tag","tag_name":"a"},{"type":"remove_tag","tag_name":"b"}]"#).unwrap().len(), 2);
    assert_eq!(encode("[]").unwrap().len(), 0);
}

#[test]
fn bad_frames_get_clear_errors() {
    assert!(error("{not json").starts_with("invalid JSON:"));
    assert!(error("").starts_with("invalid JSON: empty frame"));
    assert_eq!(error("42"), "a frame must be a JSON object or an array of objects");
    assert_eq!(error("[1]"), "message 0: a message must be a JSON object");
    assert_eq!(error(r#"{"type":"delete_run"}"#), "message 0: field 'type': unknown message type 'delete_run'");
    assert_eq!(error(r#"{"tag_name":"x"}"#), "message 0: field 'type': field required");
    assert_eq!(error(r#"{"type":7}"#), "message 0: field 'type': expected a string, got a number");
    assert_eq!(encode(r#"{"type":"add\u005ftag","tag_name":"t"}"#).unwrap().len(), 1, "escaped type names decode");
}

/// A `type` of any size or content is quoted in the answer (and so in the
/// log line) bounded and escaped; a short plain one as the reference words it.
#[test]
fn unknown_types_are_quoted_bounded_and_escaped() {
    assert_eq!(error(r#"{"type":"delete_run"}"#), "message 0: field 'type': unknown message type 'delete_run'");
    let huge = format!(r#"{{"type":"{}"}}"#, "x".repeat(16 << 20));
    assert_eq!(error(&huge), format!("message 0: field 'type': unknown message type '{}…' (16777216 bytes)", "x".repeat(SHOWN_CHARS)));
    let hostile = r#"{"type":"a\nINFO forged line \"quoted\" \u001b[31m\u202e"}"#;
    assert_eq!(error(hostile), r#"message 0: field 'type': unknown message type 'a\nINFO forged line \"quoted\" \u{1b}[31m\u{202e}'"#);
}

/// Encodes `text` for run `team-a-run` with object keys held to the run.
fn encode_in_own_run(text: &str) -> Result<usize, String> {
    let encoder = FrameEncoder::new("team-a-run", LIMITS).with_key_scope(KeyScope::OwnRun);
    encoder.encode(text, chrono::Utc::now()).map(|frame| frame.len()).map_err(|e| e.to_string())
}

fn blob_ref(key: &str) -> String {
    json!({"type": "blob_ref", "s3_key": key, "artifact_path": "model.bin"}).to_string()
}

fn custom_object(value: &str) -> String {
    format!(r#"{{"type":"log_custom_object","name":"img","value":{value}}}"#)
}

/// What each object key gets once keys are held to the run (the ids tests
/// hold every form of escape); without that, as the reference, any key passes.
#[test]
fn object_keys_are_held_to_the_run_when_asked() {
    assert_eq!(encode_in_own_run(&blob_ref("team-a-run/model.bin")), Ok(1));
    assert_eq!(
        encode_in_own_run(&blob_ref("team-b-run/model.bin")),
        Err("message 0: field 's3_key': 'team-b-run/model.bin' is not an object key of this run: it does not start with 'team-a-run/'"
            .into())
    );
    assert_eq!(
        encode_in_own_run(&blob_ref("team-a-run/../team-b-run/model.bin")),
        Err(r"message 0: field 's3_key': 'team-a-run/../team-b-run/model.bin' is not an object key of this run: it leaves 'team-a-run/': a leading '/' or '\', or a '.' or '..' segment (also when percent-decoded, with '\' as a separator)".into())
    );
    assert!(encode_in_own_run(&blob_ref("team-a-run/%2e%2e/team-b-run/x")).unwrap_err().contains("it leaves 'team-a-run/'"));
    let escaped_in_json = r#"{"type":"blob_ref","s3_key":"team\u002db-run/x","artifact_path":"x"}"#;
    assert!(encode_in_own_run(escaped_in_json).unwrap_err().contains("'team-b-run/x'"), "the key as decoded");
    let long = encode_in_own_run(&blob_ref(&format!("team-b-run/{}", "x".repeat(1 << 20)))).unwrap_err();
    assert!(long.len() < 300 && long.contains("is longer than 1024 bytes"), "{long}");

    let image = |key: &str| custom_object(&json!({"type": "image", "format": "png", "s3_key": key}).to_string());
    assert_eq!(encode_in_own_run(&image("team-a-run/seq/img/0.png")), Ok(1));
    assert_eq!(
        encode_in_own_run(&image("team-b-run/seq/img/0.png")),
        Err("message 0: field 'value': member 's3_key': 'team-b-run/seq/img/0.png' is not an object key of this run: it does not start with 'team-a-run/'".into())
    );
    assert_eq!(encode_in_own_run(&custom_object(r#"{"type":"text","data":"a cat"}"#)), Ok(1), "no key, nothing to check");
    assert_eq!(encode_in_own_run(&custom_object(r#"{"s3_key":null,"x":{"s3_key":"elsewhere"}}"#)), Ok(1), "null or nested: no key");
    assert_eq!(
        encode_in_own_run(&custom_object(r#"{"s3_key":7}"#)),
        Err("message 0: field 'value': member 's3_key': expected a string, got a number".into())
    );
    let repeated = custom_object(r#"{"s3_key":"team-a-run/x","s3_key":"team-b-run/x"}"#);
    assert!(encode_in_own_run(&repeated).unwrap_err().contains("'team-b-run/x'"), "every s3_key member counts: Python keeps the last");

    let mixed = format!("[{},{}]", blob_ref("team-a-run/a"), blob_ref("other/b"));
    assert!(encode_in_own_run(&mixed).unwrap_err().starts_with("message 1: field 's3_key'"), "the whole frame is refused");

    let anywhere = FrameEncoder::new("team-a-run", LIMITS);
    for frame in [blob_ref("team-b-run/model.bin"), image("../x"), mixed] {
        assert!(anywhere.encode(&frame, chrono::Utc::now()).is_ok(), "without authentication any key passes: {frame}");
    }
}

#[test]
fn oversized_records_are_refused_before_publishing() {
    let big = format!(r#"{{"type":"add_tag","tag_name":"{}"}}"#, "x".repeat(200));
    let err = FrameEncoder::new("r", FrameLimits { max_record_bytes: 100 }).encode(&big, chrono::Utc::now()).unwrap_err();
    assert!(matches!(err, FrameError::TooLarge { index: 0, limit: 100, .. }), "{err}");
}

/// The limit is librdkafka's: key + value + 36 bytes of framing. A value just
/// under the limit but over it with its key and framing was once accepted,
/// and then refused by librdkafka after the frame's earlier records went out.
#[test]
fn the_record_limit_counts_the_key_and_librdkafkas_framing() {
    let run_id = "b5cbc18e2aca42ec96d793e1e5b16ecb";
    let frame = format!(r#"[{{"type":"add_tag","tag_name":"t"}},{{"type":"log_hparams","value":{{"pad":"{}"}}}}]"#, "x".repeat(999_800));
    let encode = |max_record_bytes| FrameEncoder::new(run_id, FrameLimits { max_record_bytes }).encode(&frame, chrono::Utc::now());
    let value_bytes = encode(usize::MAX).unwrap().record(1).len();
    let at_the_limit = RECORD_FRAMING_BYTES + run_id.len() + value_bytes;
    assert!(value_bytes < 1_000_000 && at_the_limit > 1_000_000, "the value alone fits the default limit: {value_bytes}");
    assert_eq!(encode(at_the_limit).unwrap().len(), 2, "a record exactly at the limit passes");
    assert_eq!(
        encode(at_the_limit - 1).unwrap_err(),
        FrameError::TooLarge { index: 1, size: at_the_limit, limit: at_the_limit - 1 },
        "one byte over: the whole frame is refused"
    );
    assert_eq!(
        encode(1_000_000).unwrap_err().to_string(),
        format!("message 1: the record is {at_the_limit} bytes (run id, envelope and Kafka framing), over the limit of 1000000 bytes")
    );
}

/// Every case in `tests/client/reference_goldens.json` (made by
/// `make_reference_goldens.py` from the reference's own models): accepted or
/// rejected alike, and the same payload JSON when accepted.
#[test]
fn agrees_with_the_reference_goldens() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/client/reference_goldens.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let encoder = FrameEncoder::new("b5cbc18e2aca42ec96d793e1e5b16ecb", LIMITS);
    let mut differences = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let ours = encoder.encode(case["input"].as_str().unwrap(), chrono::Utc::now());
        let verdict = match (&ours, case["accepted"].as_bool().unwrap()) {
            (Ok(frame), true) => {
                let record: Value = serde_json::from_slice(frame.record(0)).unwrap();
                let expected: Value = serde_json::from_str(case["payload"].as_str().unwrap()).unwrap();
                if record["payload"] == expected && record["type"] == case["type"] {
                    continue;
                }
                format!("payload {} != reference {}", record["payload"], expected)
            }
            (Err(_), false) => continue,
            (Ok(_), false) => {
                format!("accepted, the reference rejects: {}", case["error"].as_str().unwrap().lines().nth(2).unwrap_or_default().trim())
            }
            (Err(e), true) => format!("rejected ({e}), the reference accepts"),
        };
        differences.push(format!("{name}: {verdict}"));
    }
    assert!(differences.is_empty(), "{} of {} cases differ:\n{}", differences.len(), cases.len(), differences.join("\n"));
}

/// The table against the reference's own models, through the goldens: each
/// accepted case publishes exactly the fields the table says, in its order,
/// with its defaults; a field the reference calls missing is one the table
/// requires, and one it refuses as `null` is one the table does not let be `null`.
#[test]
fn the_table_agrees_with_the_reference_goldens() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/client/reference_goldens.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut accepted_types = std::collections::HashSet::new();
    let mut differences = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let Ok(Value::Object(input)) = serde_json::from_str::<Value>(case["input"].as_str().unwrap()) else { continue };
        let Some(spec) = input.get("type").and_then(Value::as_str).and_then(|t| MESSAGE_TYPES.iter().find(|spec| spec.name == t)) else {
            continue;
        };
        let given = |field: &str| input.get(field).filter(|value| !value.is_null());
        if case["accepted"].as_bool().unwrap() {
            accepted_types.insert(spec.name);
            let payload_text = case["payload"].as_str().unwrap();
            let payload: Value = serde_json::from_str(payload_text).unwrap();
            let expected: Vec<&str> = spec
                .fields
                .iter()
                .filter(|f| f.publish == Publish::Always || (f.publish == Publish::IfSet && given(f.name).is_some()))
                .map(|f| f.name)
                .collect();
            if ordered_keys(payload_text) != expected {
                differences.push(format!("{name}: the reference publishes {payload_text}, the table {expected:?}"));
            }
            for field in spec.fields {
                let fits = match field.presence {
                    Presence::Required => given(field.name).is_some(),
                    Presence::Nullable => input.contains_key(field.name),
                    Presence::Defaulted(literal) => {
                        input.contains_key(field.name) || payload[field.name] == serde_json::from_str::<Value>(literal).unwrap()
                    }
                    Presence::Optional => true,
                };
                if !fits {
                    differences.push(format!("{name}: accepted, yet the table's `{}` is {:?}", field.name, field.presence));
                }
            }
        } else {
            let error = case["error"].as_str().unwrap_or_default();
            let lines: Vec<&str> = error.lines().collect();
            for (location, reason) in lines.iter().zip(lines.iter().skip(1)) {
                let Some(field) = location.strip_prefix(spec.name).and_then(|l| l.strip_prefix('.')) else { continue };
                let Some(field) = spec.fields.iter().find(|f| f.name == field) else { continue };
                let missing = reason.trim_start().starts_with("Field required");
                let null_refused = !missing && reason.contains("input_value=None");
                let fits = match field.presence {
                    Presence::Required => true,
                    Presence::Nullable => !null_refused,
                    Presence::Defaulted(_) => !missing,
                    Presence::Optional => !missing && !null_refused,
                };
                if !fits {
                    differences.push(format!(
                        "{name}: the reference says `{}`: {}, the table {:?}",
                        field.name,
                        reason.trim(),
                        field.presence
                    ));
                }
            }
        }
    }
    let unseen: Vec<&str> = MESSAGE_TYPES.iter().map(|spec| spec.name).filter(|t| !accepted_types.contains(t)).collect();
    assert!(unseen.is_empty(), "no golden publishes {unseen:?}");
    assert!(differences.is_empty(), "the table and the reference differ:\n{}", differences.join("\n"));
}

/// A JSON object's keys in their order (`serde_json::Value` sorts them).
fn ordered_keys(object: &str) -> Vec<String> {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some((key, serde::de::IgnoredAny)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                keys.push(key);
            }
            Ok(keys)
        }
    }
    serde::Deserializer::deserialize_map(&mut serde_json::Deserializer::from_str(object), Keys).unwrap()
}

mod properties {
    //! Hostile and random input: the parser answers Ok or a named error, never panics,
    //! and whatever it accepts is a well-formed envelope.
    use super::*;
    use proptest::prelude::*;

    /// Every wire field, and one no message reads.
    fn key() -> impl Strategy<Value = &'static str> {
        prop::sample::select(WIRE_FIELDS.iter().copied().chain(["run_id"]).collect::<Vec<_>>())
    }

    /// Every message type, and one that is not.
    fn type_name() -> impl Strategy<Value = &'static str> {
        prop::sample::select(MESSAGE_TYPES.iter().map(|spec| spec.name).chain(["delete_run"]).collect::<Vec<_>>())
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_string()),
            Just("NaN".to_string()),
            Just("-Infinity".to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|i| i.to_string()),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
            "[a-z0-9 :.+-]{0,12}".prop_map(|s| format!("{s:?}")),
            type_name().prop_map(|t| format!("{t:?}")),
            Just("\"2026-11-26T10:00:00Z\"".to_string()),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        scalar().prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec(("[a-z]{1,6}", inner), 0..4)
                    .prop_map(|fields| format!("{{{}}}", fields.iter().map(|(k, v)| format!("{k:?}:{v}")).collect::<Vec<_>>().join(","))),
            ]
        })
    }

    fn message() -> impl Strategy<Value = String> {
        (type_name(), prop::collection::vec((key(), value()), 0..8)).prop_map(|(t, fields)| {
            let mut parts = vec![format!("\"type\":{t:?}")];
            parts.extend(fields.iter().filter(|(k, _)| *k != "type").map(|(k, v)| format!("{k:?}:{v}")));
            format!("{{{}}}", parts.join(","))
        })
    }

    fn frame() -> impl Strategy<Value = String> {
        prop::collection::vec(message(), 0..6).prop_map(|messages| format!("[{}]", messages.join(",")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn arbitrary_text_gets_an_answer(text in any::<String>()) {
            if let Err(error) = encode(&text) {
                prop_assert!(!error.to_string().is_empty());
            }
        }

        #[test]
        fn accepted_frames_are_well_formed_envelopes(text in frame()) {
            match encode(&text) {
                Ok(records) => {
                    for record in records {
                        prop_assert_eq!(record["run_id"].as_str(), Some("run-1"));
                        prop_assert!(MessageType::ALL.iter().any(|t| record["type"] == t.as_str()));
                        prop_assert!(record["payload"].is_object());
                    }
                }
                Err(error) => prop_assert!(!error.to_string().is_empty()),
            }
        }

        #[test]
        fn truncated_frames_never_panic(text in frame(), cut in any::<prop::sample::Index>()) {
            let cut = cut.index(text.len() + 1);
            if let Some(prefix) = text.get(..cut) {
                let _ = encode(prefix);
            }
        }
    }
}
