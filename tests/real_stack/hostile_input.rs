//! Hostile input against the running gateway, one class per test: what each
//! input gets (an answer, or a close code), that a rejected frame publishes
//! nothing (a valid frame on the same run follows, and only it is in Kafka),
//! and that the process and the connection (or a new one) still work after.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::{json, Value};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);

fn add_tag(tag_name: &str) -> String {
    json!({"type": "add_tag", "tag_name": tag_name}).to_string()
}

fn error_answer(why: &str) -> Value {
    json!({"status": "error", "error": why})
}

/// The run's records are exactly these tags, in this order.
fn assert_published_tags(run_id: &str, expected: &[&str]) {
    let records = records_for(run_id, expected.len(), WAIT);
    let tags: Vec<&str> = records.iter().map(|r| r.value["payload"]["tag_name"].as_str().unwrap_or("<not a tag>")).collect();
    assert_eq!(tags, expected, "only the valid frames are published");
}

fn send_frame(ws: &mut WsClient, frame: Frame) {
    ws.socket.send(Message::Frame(frame)).expect("send raw frame");
}

/// One message in fragments: the first with `first`'s opcode, then continuations, the last final.
fn send_fragments(ws: &mut WsClient, first: Data, parts: &[&[u8]]) {
    for (i, part) in parts.iter().enumerate() {
        let opcode = if i == 0 { OpCode::Data(first) } else { OpCode::Data(Data::Continue) };
        send_frame(ws, Frame::message(part.to_vec(), opcode, i == parts.len() - 1));
    }
}

/// The close frame the server sends next, as (code, reason); an answer instead is a failure.
fn close_frame(ws: &mut WsClient) -> (u16, String) {
    loop {
        match ws.socket.read() {
            Ok(Message::Close(Some(frame))) => return (frame.code.into(), frame.reason.to_string()),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(other) => panic!("expected the server to close, got {other:?}"),
            Err(error) => panic!("expected a close frame, got {error}"),
        }
    }
}

fn assert_no_connections_within(frontier: &Frontier, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let active = frontier.metric("matyan_ws_connections_active").expect("matyan_ws_connections_active");
        if active == 0.0 {
            return;
        }
        assert!(Instant::now() < deadline, "matyan_ws_connections_active is still {active} after {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const DEPTH: usize = 100_000;

#[test]
fn deeply_nested_json_gets_an_error_and_the_connection_stays_usable() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let deep_array = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(DEPTH), "}".repeat(DEPTH));
    let cases = [
        // Arrays: the outer one is the batch, its first element is not an object; refused
        // there, without reading further, closed or not.
        ("[".repeat(DEPTH), "message 0: a message must be a JSON object"),
        (deep_array, "message 0: a message must be a JSON object"),
        // Objects: the value of an unknown key is skipped without recursion (no stack
        // overflow); unclosed, the parser runs out of input…
        (r#"{"a":"#.repeat(DEPTH), "invalid JSON: EOF while parsing a value at line 1 column 500000"),
        // …closed, the message has no type.
        (deep_object.clone(), "message 0: field 'type': field required"),
        (format!("[{deep_object}]"), "message 0: field 'type': field required"),
    ];
    let answers: Vec<Value> = cases.iter().map(|(frame, _)| ws.roundtrip(frame)).collect();
    let expected: Vec<Value> = cases.iter().map(|(_, why)| error_answer(why)).collect();
    assert_eq!(answers, expected);
    // An unknown field may nest deeply: it is skipped and never published, the message is ok.
    let ignored = format!(r#"{{"type":"add_tag","tag_name":"ignored-deep","extra":{}{}}}"#, "[".repeat(DEPTH), "]".repeat(DEPTH));
    assert_eq!(ws.roundtrip(&ignored), ok_answer());
    assert_eq!(ws.roundtrip(&add_tag("after")), ok_answer());
    assert_published_tags(&run_id, &["ignored-deep", "after"]);
}

// Fails today: a field the gateway writes back as sent (`value`, `context`,
// `extra_args`) may nest 100 000 levels; the frame is answered ok and the
// record published, though no JSON reader with a depth limit can read it back
// (Python's json.loads, which the workers use, raises RecursionError from
// about 1 000 levels; serde_json's default limit is 128). The reference
// refused such a frame: its own json.loads failed.
#[test]
fn deeply_nested_json_inside_a_field_that_is_published_as_sent_is_refused() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(DEPTH), "}".repeat(DEPTH));
    let deep_array = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    for frame in [
        format!(r#"{{"type":"log_hparams","value":{deep_object}}}"#),
        format!(r#"{{"type":"log_custom_object","name":"n","value":{{"x":{deep_array}}}}}"#),
    ] {
        let answer = ws.roundtrip(&frame);
        assert_eq!(answer["status"], "error", "{}…: {answer}", &frame[..60]);
    }
    assert_eq!(ws.roundtrip(&add_tag("after")), ok_answer());
    assert_published_tags(&run_id, &["after"]);
}

#[test]
fn huge_numbers_get_a_clear_answer() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let metric = |value: &str, step: &str, epoch: &str| {
        format!(
            r#"{{"type":"log_metric","name":"m","value":{value},"step":{step},"epoch":{epoch},"context":null,"dtype":null,"client_datetime":1795687200}}"#
        )
    };
    let digits = format!("1{}", "0".repeat(399)); // 400 digits, 1e399
    let minus_digits = format!("-{digits}");
    // Floats: beyond f64 the value reads as ±infinity and is published as null,
    // as Infinity is; below the smallest subnormal it reads as 0.
    let accepted = [
        (metric("1e400", "0", "null"), Value::Null),
        (metric("-1e400", "1", "null"), Value::Null),
        (metric(&digits, "2", "null"), Value::Null),
        (metric(&minus_digits, "3", "null"), Value::Null),
        (metric("1e-400", "4", "null"), json!(0.0)),
    ];
    for (frame, _) in &accepted {
        assert_eq!(ws.roundtrip(frame), ok_answer(), "{frame}");
    }
    // Integers: unbounded in Python, so anything that fits i128 is kept (2^64 here)…
    assert_eq!(ws.roundtrip(&metric("0.5", "18446744073709551616", "null")), ok_answer());
    // Any float field: log_record's timestamp past f64 is published as null too.
    assert_eq!(ws.roundtrip(r#"{"type":"log_record","message":"m","level":20,"timestamp":1e400}"#), ok_answer());
    // …and past that, or a float past i64, is refused naming the field.
    let refused = [
        (metric("1", &digits, "null"), "message 0: field 'step': integer out of range"),
        (metric("1", "1e400", "null"), "message 0: field 'step': integer out of range"),
        (metric("1", "-1e400", "null"), "message 0: field 'step': integer out of range"),
        (metric("1", "170141183460469231731687303715884105728", "null"), "message 0: field 'step': integer out of range"),
        (metric("1", "0", &minus_digits), "message 0: field 'epoch': integer out of range"),
        (r#"{"type":"log_record","message":"m","level":1e400,"timestamp":1}"#.into(), "message 0: field 'level': integer out of range"),
        (
            r#"{"type":"create_run","client_datetime":1e400}"#.into(),
            "message 0: field 'client_datetime': a timestamp must be a finite number",
        ),
        (r#"{"type":"create_run","client_datetime":1e20}"#.into(), "message 0: field 'client_datetime': timestamp out of range"),
    ];
    for (frame, why) in &refused {
        assert_eq!(ws.roundtrip(frame), error_answer(why), "{frame}");
    }
    let records = records_for(&run_id, accepted.len() + 2, WAIT);
    assert_eq!(records.len(), accepted.len() + 2, "only the accepted frames are published");
    for (record, (frame, value)) in records.iter().zip(&accepted) {
        assert_eq!(&record.value["payload"]["value"], value, "{frame}");
    }
    let steps: Vec<Value> = records.iter().map(|r| r.value["payload"]["step"].clone()).collect();
    assert_eq!(&steps[..5], &[json!(0), json!(1), json!(2), json!(3), json!(4)]);
    // Written as the integer literal (read back here as the nearest f64).
    assert_eq!(records[5].value["payload"]["step"].as_f64(), Some(18446744073709551616.0));
    assert_eq!(records[6].value["payload"], json!({"message": "m", "level": 20, "timestamp": null}));
}

#[test]
fn duplicate_keys_the_gateway_reads_get_an_error() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let refused = [
        (
            r#"{"type":"add_tag","tag_name":"a","tag_name":"b"}"#,
            "message 0: invalid message: duplicate field `tag_name` at line 1 column 43",
        ),
        (
            r#"{"type":"add_tag","type":"remove_tag","tag_name":"a"}"#,
            "message 0: invalid message: duplicate field `type` at line 1 column 24",
        ),
        // In a batch the whole frame goes, the valid message before it included.
        (
            r#"[{"type":"add_tag","tag_name":"x"},{"type":"add_tag","tag_name":"a","tag_name":"b"}]"#,
            "message 1: invalid message: duplicate field `tag_name` at line 1 column 78",
        ),
    ];
    for (frame, why) in refused {
        assert_eq!(ws.roundtrip(frame), error_answer(why), "{frame}");
    }
    // Keys the gateway does not read are ignored, repeated or not.
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"unknown-twice","x":1,"x":2}"#), ok_answer());
    // Inside an object published as sent, the text is kept; readers take the last one.
    assert_eq!(ws.roundtrip(r#"{"type":"log_hparams","value":{"lr":1,"lr":2}}"#), ok_answer());
    let records = records_for(&run_id, 2, WAIT);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].value["payload"], json!({"tag_name": "unknown-twice"}));
    assert_eq!(records[1].value["payload"], json!({"value": {"lr": 2}}));
}

// Serde once read the message struct from a JSON array too (fields by
// position), so a message written as an array was answered ok and published.
// PROTOCOL.md: a frame is an object or an array of objects; the reference
// (pydantic) refuses a list.
#[test]
fn a_message_written_as_an_array_is_refused() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    // `tag_name` was the 13th field of the serde struct that read messages then.
    let frame = r#"[["add_tag",null,null,null,null,null,null,null,null,null,null,null,"as-array"]]"#;
    let answer = ws.roundtrip(frame);
    assert_eq!(answer["status"], "error", "{answer}");
    assert_eq!(ws.roundtrip(r#"["add_tag"]"#), error_answer("message 0: a message must be a JSON object"));
    assert_eq!(ws.roundtrip(&add_tag("after")), ok_answer());
    assert_published_tags(&run_id, &["after"]);
}

#[test]
fn an_empty_batch_is_ok_and_publishes_nothing() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    for frame in ["[]", " [ ] ", "[\n]"] {
        assert_eq!(ws.roundtrip(frame), ok_answer(), "{frame:?}");
    }
    assert_eq!(ws.roundtrip(&add_tag("after")), ok_answer());
    assert_published_tags(&run_id, &["after"]);
}

#[test]
fn a_frame_of_100_000_messages_is_published_whole_and_in_order() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let count = 100_000;
    let frame = format!("[{}]", (0..count).map(|i| add_tag(&format!("t{i}"))).collect::<Vec<_>>().join(","));
    // 3.9 MB: under WS_MAX_FRAME_BYTES (16 MiB), and each record far under KAFKA_MAX_RECORD_BYTES.
    assert!(frame.len() < 4_000_000, "{}", frame.len());
    assert_eq!(ws.roundtrip(&frame), ok_answer());
    let records = records_for(&run_id, count, Duration::from_secs(60));
    assert_eq!(records.len(), count);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.value["payload"]["tag_name"], format!("t{i}"), "record {i} out of order");
    }
    assert_eq!(ws.roundtrip(&add_tag("after")), ok_answer());
}

#[test]
fn a_fragmented_text_message_is_reassembled_and_published_once() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let text = r#"[{"type":"add_tag","tag_name":"fragé"},{"type":"add_tag","tag_name":"second"}]"#.as_bytes();
    // Four fragments, cut inside a key, inside the two bytes of `é`, and between messages.
    let cut_in_e = text.iter().position(|&b| b == 0xC3).unwrap() + 1;
    let parts: [&[u8]; 4] = [&text[..5], &text[5..cut_in_e], &text[cut_in_e..cut_in_e + 3], &text[cut_in_e + 3..]];
    send_fragments(&mut ws, Data::Text, &parts);
    assert_eq!(ws.answer(), ok_answer());
    // A ping between fragments (allowed by RFC 6455) is answered at once, the message still reassembled.
    send_frame(&mut ws, Frame::message(b"[{\"type\":\"add_tag\",".to_vec(), OpCode::Data(Data::Text), false));
    ws.socket.send(Message::Ping(b"mid-message".to_vec().into())).unwrap();
    assert_eq!(ws.socket.read().unwrap(), Message::Pong(b"mid-message".to_vec().into()));
    send_frame(&mut ws, Frame::message(b"\"tag_name\":\"third\"}]".to_vec(), OpCode::Data(Data::Continue), true));
    assert_eq!(ws.answer(), ok_answer());
    assert_published_tags(&run_id, &["fragé", "second", "third"]);
}

#[test]
fn messages_over_ws_max_frame_bytes_close_the_connection_with_1009() {
    let frontier = Frontier::start(&[("WS_MAX_FRAME_BYTES", "4096")]);
    let run_id = unique_run_id();
    // A valid batch, padded: were it accepted, it would be published.
    let padded = |len: usize| format!("[{}{}]", add_tag("too-big"), " ".repeat(len - add_tag("too-big").len() - 2));

    // Three fragments of 1 500 bytes, each under the limit, 4 500 together; the
    // connection closes as soon as the total passes 4 096 (no final fragment needed).
    let mut ws = frontier.ws(&run_id);
    let text = padded(4500);
    let parts: Vec<&[u8]> = text.as_bytes().chunks(1500).collect();
    for (i, part) in parts.iter().enumerate() {
        let opcode = if i == 0 { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
        send_frame(&mut ws, Frame::message(part.to_vec(), opcode, false));
    }
    assert_eq!(close_frame(&mut ws), (1009, "message larger than 4096 bytes".to_string()));

    // One unfragmented frame over the limit: the codec refuses it.
    let mut ws = frontier.ws(&run_id);
    ws.send(&padded(5000));
    assert_eq!(close_frame(&mut ws), (1009, "Payload length is invalid or exceeds the size limit".to_string()));

    // At the limit exactly, in one frame and in fragments, it is fine.
    let mut ws = frontier.ws(&run_id);
    let exact = format!("[{}{}]", add_tag("at-limit"), " ".repeat(4096 - add_tag("at-limit").len() - 2));
    assert_eq!(ws.roundtrip(&exact), ok_answer());
    let parts: Vec<&[u8]> = exact.as_bytes().chunks(1000).collect();
    send_fragments(&mut ws, Data::Text, &parts);
    assert_eq!(ws.answer(), ok_answer());
    assert_published_tags(&run_id, &["at-limit", "at-limit"]);
}

#[test]
fn fragmentation_protocol_violations_close_with_1002() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    // A continuation with no message started.
    let mut ws = frontier.ws(&run_id);
    send_frame(&mut ws, Frame::message(add_tag("stray").into_bytes(), OpCode::Data(Data::Continue), true));
    assert_eq!(close_frame(&mut ws), (1002, "Continuation has not started".to_string()));
    // A new text message while a fragmented one is open.
    let mut ws = frontier.ws(&run_id);
    send_frame(&mut ws, Frame::message(b"[".to_vec(), OpCode::Data(Data::Text), false));
    send_frame(&mut ws, Frame::message(add_tag("interleaved").into_bytes(), OpCode::Data(Data::Text), true));
    assert_eq!(close_frame(&mut ws), (1002, "Received new continuation but it has already started".to_string()));
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(&add_tag("after")), ok_answer());
    assert_published_tags(&run_id, &["after"]);
}

#[test]
fn pings_get_their_payload_back_and_pongs_are_ignored() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let payloads: [Vec<u8>; 4] = [b"hello".to_vec(), Vec::new(), vec![0xFF, 0x00, 0x80], vec![b'p'; 125]];
    for payload in &payloads {
        ws.socket.send(Message::Ping(payload.clone().into())).unwrap();
    }
    for payload in &payloads {
        assert_eq!(ws.socket.read().unwrap(), Message::Pong(payload.clone().into()));
    }
    // Unsolicited pongs get nothing: the next thing read is the valid frame's answer.
    for payload in &payloads {
        ws.socket.send(Message::Pong(payload.clone().into())).unwrap();
    }
    ws.send(&add_tag("after"));
    match ws.socket.read().unwrap() {
        Message::Text(text) => assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), ok_answer()),
        other => panic!("expected the frame's answer, got {other:?}"),
    }
    assert_published_tags(&run_id, &["after"]);
}

#[test]
fn binary_frames_and_invalid_utf8_publish_nothing() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let binary_refused = error_answer("binary frames are not supported: send JSON text frames");
    let mut ws = frontier.ws(&run_id);
    // A binary frame, even one holding a valid message, gets an error answer.
    ws.socket.send(Message::binary(add_tag("as-binary").into_bytes())).unwrap();
    assert_eq!(ws.answer(), binary_refused);
    ws.socket.send(Message::binary(vec![0xFF, 0xFE, 0x00])).unwrap();
    assert_eq!(ws.answer(), binary_refused);
    // A fragmented binary message: one error answer for the whole message.
    let text = add_tag("as-binary-fragments");
    let (head, tail) = text.as_bytes().split_at(10);
    send_fragments(&mut ws, Data::Binary, &[head, tail]);
    assert_eq!(ws.answer(), binary_refused);
    // Invalid UTF-8 across text fragments: an error answer, the connection stays open.
    send_fragments(&mut ws, Data::Text, &[b"{\"type\":\"add_tag\",\"tag_name\":\"\xFF", b"\xFE\"}"]);
    assert_eq!(ws.answer(), error_answer("frame is not valid UTF-8"));
    assert_eq!(ws.roundtrip(&add_tag("after-binary")), ok_answer());

    // Invalid UTF-8 in one text frame: actix refuses it while decoding and closes
    // with 1002 (protocol error), not 1007; the process stays up.
    send_frame(&mut ws, Frame::message(b"{\"type\":\"add_tag\",\"tag_name\":\"\xC3\x28\"}".to_vec(), OpCode::Data(Data::Text), true));
    let (code, reason) = close_frame(&mut ws);
    assert_eq!(code, 1002);
    assert_eq!(reason, "I/O error: invalid utf-8 sequence of 1 bytes from index 30");
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(&add_tag("after-utf8")), ok_answer());
    assert_published_tags(&run_id, &["after-binary", "after-utf8"]);
}

#[test]
fn clients_dropping_mid_frame_leave_no_session_behind() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let frame = format!("[{}{}]", add_tag("cut"), " ".repeat(2000));
    let small = masked_text_frame(frame.as_bytes());
    let large = masked_text_frame(format!("[{}{}]", add_tag("cut"), " ".repeat(1 << 20)).as_bytes());
    for i in 0..50 {
        let stream = TcpStream::connect(("127.0.0.1", frontier.port)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let (mut socket, response) = tungstenite::client(frontier.ws_url(&run_id), stream).expect("WebSocket upgrade");
        assert_eq!(response.status(), 101);
        // Cut inside the header, the extended length, the mask, the payload;
        // or a 1 MiB frame announced and barely started.
        let partial = match i % 5 {
            0 => &small[..1],
            1 => &small[..3],
            2 => &small[..6],
            3 => &small[..small.len() / 2],
            _ => &large[..large.len() / 100],
        };
        socket.get_mut().write_all(partial).unwrap();
        socket.get_mut().flush().unwrap();
        drop(socket);
    }
    assert_no_connections_within(&frontier, Duration::from_secs(5));
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(&add_tag("after")), ok_answer());
    assert_published_tags(&run_id, &["after"]);
    // Nothing is written to a connection that never completed a frame but the
    // end of it: the server only closes (EOF), it does not answer.
    let stream = TcpStream::connect(("127.0.0.1", frontier.port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let (mut socket, _) = tungstenite::client(frontier.ws_url(&run_id), stream).unwrap();
    socket.get_mut().write_all(&small[..small.len() / 2]).unwrap();
    socket.get_mut().shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    let _ = socket.get_mut().read_to_end(&mut rest);
    assert!(!String::from_utf8_lossy(&rest).contains("status"), "no answer for a cut frame: {rest:?}");
}

#[test]
fn two_thousand_connections_opened_and_dropped_leave_the_gateway_usable() {
    let frontier = Frontier::start(&[]);
    let url = frontier.ws_url(&unique_run_id());
    let started = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    let (mut socket, response) =
                        tungstenite::connect(url.as_str()).unwrap_or_else(|e| panic!("upgrade {} failed: {e}", t * 500 + i));
                    assert_eq!(response.status(), 101);
                    if i % 2 == 0 {
                        // Half close properly: our close, the server's echo, then drop (the
                        // server ends the TCP connection only about 1 s after the echo).
                        if let tungstenite::stream::MaybeTlsStream::Plain(stream) = socket.get_ref() {
                            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        }
                        socket.close(None).unwrap();
                        match socket.read() {
                            Ok(Message::Close(_)) => {}
                            other => panic!("expected the close echo, got {other:?}"),
                        }
                    }
                    // The other half just drop the socket.
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    eprintln!("2000 connections opened and dropped in {:?}", started.elapsed());
    assert_no_connections_within(&frontier, Duration::from_secs(5));
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(&add_tag("after")), ok_answer());
    assert_published_tags(&run_id, &["after"]);
}
