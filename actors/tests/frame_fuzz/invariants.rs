//! The invariants every answer keeps, whatever text a client sends, checked
//! by the oracle: its own JSON reader, and the protocol's table for which
//! fields each type publishes.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use matyan_actors::protocol::table::{FieldKind, Publish};
use matyan_actors::protocol::{EncodedFrame, FrameEncoder, FrameError, FrameLimits, MessageType, SanitizedFrame, WIRE_FIELDS};

use crate::json_oracle as json;

const RUN_ID: &str = "b5cbc18e2aca42ec96d793e1e5b16ecb";
const RECEIVED_MICROS: i64 = 1_795_713_681_322_055;
const RECEIVED_TEXT: &str = "2026-11-26T17:21:21.322055Z";
/// The gateway's default record limit (`KAFKA_MAX_RECORD_BYTES`).
const LIMITS: FrameLimits = FrameLimits { max_record_bytes: 1_000_000 };

/// The encoder under test, at a fixed receive time.
pub struct Target {
    received_at: chrono::DateTime<chrono::Utc>,
}

impl Target {
    pub fn new() -> Self {
        Self { received_at: chrono::DateTime::from_timestamp_micros(RECEIVED_MICROS).expect("a valid receive time") }
    }

    /// `FrameEncoder::encode`, with a panic turned into a `no-panic` violation.
    fn encode(&self, text: &str, limits: FrameLimits) -> Result<Result<EncodedFrame, FrameError>, Violation> {
        guarded(|| FrameEncoder::new(RUN_ID, limits).encode(text, self.received_at))
    }
}

#[derive(Debug)]
pub struct Violation {
    pub invariant: &'static str,
    /// Tells apart different breaks of one invariant (the place of a panic).
    pub key: String,
    pub detail: String,
}

/// `detail` reads "what went wrong: the specifics"; inputs that break an invariant
/// the same way (same text before the colon) are one finding.
fn broken(invariant: &'static str, detail: impl Into<String>) -> Violation {
    let detail = detail.into();
    let key = blur(detail.split(':').next().unwrap_or_default());
    Violation { invariant, key, detail }
}

pub struct Outcome {
    pub accepted: bool,
    /// The published types, or the error with its details blurred: new ones are kept.
    pub signature: String,
    pub types: Vec<MessageType>,
    /// An accepted record that is valid JSON but that `serde_json::Value` refuses.
    pub strict_json_note: Option<String>,
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics inside `guarded` are recorded instead of printed; others print as usual.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }));
    });
}

fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Violation> {
    install_panic_hook();
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|payload| {
        let message = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| {
            payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default()
        });
        // "panicked at file:line:col:\nmessage": the place tells panics apart.
        let key = message.lines().next().unwrap_or_default().to_owned();
        Violation { invariant: "no-panic", key, detail: format!("the parser panicked: {message}") }
    })
}

/// Runs one input and checks every invariant; a bug in these checks is reported too.
pub fn run_one(target: &Target, text: &str) -> Result<Outcome, Violation> {
    install_panic_hook();
    match panic::catch_unwind(AssertUnwindSafe(|| check(target, text))) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
            Err(broken("harness", format!("the fuzz checks themselves panicked: {}", message.unwrap_or_default())))
        }
    }
}

fn check(target: &Target, text: &str) -> Result<Outcome, Violation> {
    let first = target.encode(text, LIMITS)?;
    let second = target.encode(text, LIMITS)?;
    let same = match (&first, &second) {
        (Ok(a), Ok(b)) => same_records(a, b),
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    if !same {
        return Err(broken("deterministic", format!("two runs differ: {first:?} then {second:?}")));
    }
    let sanitized = guarded(|| SanitizedFrame::new(text))?;
    let doc = json::parse(&sanitized.text, 2);
    match first {
        Err(error) => {
            check_refusal(&error, &doc)?;
            Ok(Outcome { accepted: false, signature: blur(&error.to_string()), types: Vec::new(), strict_json_note: None })
        }
        Ok(frame) => check_acceptance(target, text, &frame, doc),
    }
}

fn same_records(a: &EncodedFrame, b: &EncodedFrame) -> bool {
    a.len() == b.len() && a.byte_len() == b.byte_len() && a.iter().zip(b.iter()).all(|(x, y)| x == y)
}

/// The error text with quoted parts and numbers blurred, so that "the same error
/// about another value" is not counted as new behaviour.
fn blur(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(200));
    let mut quote: Option<char> = None;
    let mut last_digit = false;
    for c in message.chars().take(300) {
        match quote {
            Some(q) if c == q => {
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`') => {
                out.push(c);
                quote = Some(c);
            }
            None if c.is_ascii_digit() => {
                if !last_digit {
                    out.push('#');
                }
            }
            None => out.push(c),
        }
        last_digit = c.is_ascii_digit();
    }
    out
}

fn check_refusal(error: &FrameError, doc: &Result<json::Node, String>) -> Result<(), Violation> {
    if error.to_string().trim().is_empty() {
        return Err(broken("error-message", format!("refused without a message: {error:?}")));
    }
    match (doc, error) {
        // serde_json refuses lone surrogate escapes (`"\ud800"`) and numbers beyond
        // f64 (`1e400`) that Python's json reads: such frames are refused, a known
        // and safe-side difference.
        (Ok(_), FrameError::InvalidJson(message))
            if ["surrogate", "hex escape", "number out of range"].iter().any(|known| message.contains(known)) => {}
        (Ok(_), FrameError::InvalidJson(message)) => {
            return Err(broken("json-verdict", format!("refused as invalid JSON, yet it is JSON: {message}")));
        }
        (Err(why), FrameError::NotObjectOrArray) => {
            return Err(broken("json-verdict", format!("refused as neither object nor array, yet it is not JSON: {why}")));
        }
        (Ok(root), _) if !matches!(root.kind, json::Kind::Object(_) | json::Kind::Array(_)) && *error != FrameError::NotObjectOrArray => {
            return Err(broken(
                "json-verdict",
                format!("a JSON scalar frame is refused with another error than NotObjectOrArray: {error:?}"),
            ));
        }
        _ => {}
    }
    let index = match error {
        FrameError::NotAnObject { index }
        | FrameError::InvalidMessage { index, .. }
        | FrameError::Field { index, .. }
        | FrameError::TooLarge { index, .. } => *index,
        _ => return Ok(()),
    };
    let messages = match doc.as_ref().map(|root| &root.kind) {
        Ok(json::Kind::Object(_)) => 1,
        Ok(json::Kind::Array(items)) => items.len(),
        _ => return Ok(()),
    };
    if index >= messages {
        return Err(broken(
            "error-index",
            format!("the error names a message past the end of the frame: message {index} of {messages}: {error}"),
        ));
    }
    Ok(())
}

fn check_acceptance(target: &Target, text: &str, frame: &EncodedFrame, doc: Result<json::Node, String>) -> Result<Outcome, Violation> {
    let root = doc.map_err(|why| broken("json-verdict", format!("accepted, yet it is not JSON once NaN/Infinity are rewritten: {why}")))?;
    let messages: Vec<&json::Node> = match &root.kind {
        json::Kind::Object(_) => vec![&root],
        json::Kind::Array(items) => items.iter().collect(),
        other => return Err(broken("json-verdict", format!("accepted a frame that is {}: neither object nor array", other.name()))),
    };
    if frame.len() != messages.len() || frame.is_empty() != messages.is_empty() {
        return Err(broken("frame-structure", format!("not one record per message: {} messages, {} records", messages.len(), frame.len())));
    }
    let total: usize = frame.iter().map(|(_, record)| record.len()).sum();
    if total != frame.byte_len() {
        return Err(broken(
            "frame-structure",
            format!("byte_len() is not the records' total: {total} bytes in all, byte_len() {}", frame.byte_len()),
        ));
    }
    let mut strict_json_note = None;
    let mut types = Vec::with_capacity(frame.len());
    for (index, ((message_type, record), message)) in frame.iter().zip(&messages).enumerate() {
        let json::Kind::Object(fields) = &message.kind else {
            return Err(broken(
                "frame-structure",
                format!(
                    "a message that is {} was published: message {index}, as {}: {}",
                    message.kind.name(),
                    message_type.as_str(),
                    message.raw
                ),
            ));
        };
        for known in WIRE_FIELDS {
            if fields.iter().filter(|(key, _)| key == known).count() > 1 {
                return Err(broken("frame-structure", format!("accepted a message giving a field twice: message {index}, `{known}`")));
            }
        }
        let given_type = fields.iter().find(|(key, _)| key == "type").map(|(_, value)| &value.kind);
        if !matches!(given_type, Some(json::Kind::Str(name)) if name == message_type.as_str()) {
            return Err(broken(
                "frame-structure",
                format!(
                    "published under another type than the message's: message {index} has {given_type:?}, published as {}",
                    message_type.as_str()
                ),
            ));
        }
        if let Some(note) = check_record(target, index, message_type, record, fields)? {
            strict_json_note.get_or_insert(note);
        }
        types.push(message_type);
    }
    check_record_limit(target, text, frame)?;
    let signature = format!("ok:{}", types.iter().take(4).map(|t| t.as_str()).collect::<Vec<_>>().join(","));
    Ok(Outcome { accepted: true, signature, types, strict_json_note })
}

fn check_record(
    target: &Target,
    index: usize,
    message_type: MessageType,
    record: &[u8],
    message: &[(String, json::Node)],
) -> Result<Option<String>, Violation> {
    let text = std::str::from_utf8(record).map_err(|e| broken("record-json", format!("record is not UTF-8: record {index}: {e}")))?;
    let root = json::parse(text, 2).map_err(|why| broken("record-json", format!("record is not JSON: record {index}, {why}: {text}")))?;
    let json::Kind::Object(envelope) = &root.kind else {
        return Err(broken("envelope", format!("record is not an object: record {index}: {text}")));
    };
    let keys: Vec<&str> = envelope.iter().map(|(key, _)| key.as_str()).collect();
    if keys != ["type", "run_id", "timestamp", "payload"] {
        return Err(broken("envelope", format!("record has other keys: record {index} has {keys:?}: {text}")));
    }
    let string = |node: &json::Node| match &node.kind {
        json::Kind::Str(s) => Some(s.clone()),
        _ => None,
    };
    let published_type = string(&envelope[0].1);
    if !MessageType::ALL.iter().any(|t| published_type.as_deref() == Some(t.as_str()))
        || published_type.as_deref() != Some(message_type.as_str())
    {
        return Err(broken(
            "envelope",
            format!("record says another type: record {index} is listed as {} but says {published_type:?}", message_type.as_str()),
        ));
    }
    if string(&envelope[1].1).as_deref() != Some(RUN_ID) || string(&envelope[2].1).as_deref() != Some(RECEIVED_TEXT) {
        return Err(broken("envelope", format!("record has the wrong run_id or timestamp: record {index}: {text}")));
    }
    let json::Kind::Object(payload) = &envelope[3].1.kind else {
        return Err(broken("envelope", format!("payload is not an object: record {index}: {text}")));
    };
    check_payload(index, message_type, payload, message, text)?;
    check_round_trip(target, index, message_type, record, payload)?;
    let strict = serde_json::from_slice::<serde_json::Value>(record).err();
    Ok(strict.map(|e| format!("{text:?} ({e})")))
}

fn check_payload(
    index: usize,
    message_type: MessageType,
    payload: &[(String, json::Node)],
    message: &[(String, json::Node)],
    record: &str,
) -> Result<(), Violation> {
    let given = |name: &str| message.iter().find(|(key, _)| key == name).map(|(_, value)| value.raw);
    // The table says which fields a type publishes; the published text is checked against the message's.
    let published: Vec<_> = message_type
        .spec()
        .fields
        .iter()
        .filter(|field| match field.publish {
            Publish::Always => true,
            Publish::IfSet => given(field.name).is_some_and(|raw| raw != "null"),
            Publish::Never => false,
        })
        .collect();
    let expected: Vec<&str> = published.iter().map(|field| field.name).collect();
    let keys: Vec<&str> = payload.iter().map(|(key, _)| key.as_str()).collect();
    if keys != expected {
        return Err(broken(
            "payload-fields",
            format!(
                "payload fields are not the type's: record {index} ({}) has {keys:?}, not {expected:?}: {record}",
                message_type.as_str()
            ),
        ));
    }
    for ((name, value), field) in payload.iter().zip(&published) {
        // Strings and objects are the client's own text, when it gave them.
        if field.kind.is_copied() {
            if let Some(raw) = given(name) {
                if raw != value.raw {
                    return Err(broken(
                        "payload-fields",
                        format!("a copied field is not the message's text: record {index}, `{name}` is published as {} but the message gave {raw}", value.raw),
                    ));
                }
            }
        }
        if name == "client_datetime" {
            let json::Kind::Str(datetime) = &value.kind else {
                return Err(broken("client-datetime", format!("client_datetime is not a string: record {index}: {}", value.raw)));
            };
            python_isoformat(datetime).map_err(|why| {
                broken(
                    "client-datetime",
                    format!("client_datetime is not what Python's isoformat() writes ({why}): record {index}: {datetime:?} in {record}"),
                )
            })?;
        }
    }
    Ok(())
}

/// Whether Python's `datetime.isoformat()` can write `s`: years 0001–9999,
/// microseconds only when non-zero, an optional `±HH:MM[:SS]` offset.
fn python_isoformat(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    let digits = |range: Range<usize>| b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let shape = digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19);
    if !shape {
        return Err("not YYYY-MM-DDTHH:MM:SS");
    }
    if &b[..4] == b"0000" {
        return Err("year 0: Python's datetime starts at year 1");
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        match rest.get(1..7) {
            Some(b"000000") => return Err("zero microseconds are left out by isoformat()"),
            Some(micros) if micros.iter().all(u8::is_ascii_digit) => rest = &rest[7..],
            _ => return Err("microseconds are six digits"),
        }
    }
    let two = |d: &[u8]| d.len() == 2 && d.iter().all(u8::is_ascii_digit);
    match rest {
        [] => Ok(()),
        [b'+' | b'-', h @ .., b':', m1, m2] if two(h) && two(&[*m1, *m2]) => Ok(()),
        [b'+' | b'-', h1, h2, b':', m1, m2, b':', s1, s2] if two(&[*h1, *h2]) && two(&[*m1, *m2]) && two(&[*s1, *s2]) => Ok(()),
        _ => Err("not a ±HH:MM offset"),
    }
}

/// A published payload, sent back as a message of its type, is published unchanged.
/// A non-finite float is published as `null`; it goes back as `NaN`.
fn check_round_trip(
    target: &Target,
    index: usize,
    message_type: MessageType,
    record: &[u8],
    payload: &[(String, json::Node)],
) -> Result<(), Violation> {
    let mut message = format!("{{\"type\":\"{}\"", message_type.as_str());
    for (key, value) in payload {
        let float = message_type.spec().fields.iter().any(|field| field.name == key && field.kind == FieldKind::Float);
        let raw = if float && value.raw == "null" { "NaN" } else { value.raw };
        let _ = write!(message, ",\"{key}\":{raw}");
    }
    message.push('}');
    let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match target.encode(&message, LIMITS)? {
        Ok(again) if again.len() == 1 && again.record(0) == record => Ok(()),
        Ok(again) => Err(broken(
            "round-trip",
            format!(
                "a payload sent back is published differently: record {index}'s payload sent back as {message:?} gives {:?}, not {:?}",
                again.iter().map(|(_, r)| lossy(r)).collect::<Vec<_>>(),
                lossy(record)
            ),
        )),
        Err(error) => Err(broken(
            "round-trip",
            format!(
                "a payload sent back is refused: record {index}'s payload sent back as {message:?} is refused ({error}); the record: {:?}",
                lossy(record)
            ),
        )),
    }
}

fn check_record_limit(target: &Target, text: &str, frame: &EncodedFrame) -> Result<(), Violation> {
    // As librdkafka counts a record: with its key (the run id) and framing.
    let size = |record: &[u8]| FrameLimits::record_bytes(RUN_ID.len(), record.len());
    let Some(largest) = frame.iter().map(|(_, record)| size(record)).max() else {
        return Ok(());
    };
    let limit = |max_record_bytes| target.encode(text, FrameLimits { max_record_bytes });
    match limit(largest)? {
        Ok(again) if same_records(&again, frame) => {}
        other => {
            return Err(broken("record-limit", format!("refused with a limit of the largest record's size: limit {largest}: {other:?}")))
        }
    }
    let first = frame.iter().position(|(_, record)| size(record) == largest).expect("the largest record");
    match limit(largest - 1)? {
        Err(FrameError::TooLarge { index, size, limit }) if index == first && size == largest && limit == largest - 1 => Ok(()),
        other => Err(broken(
            "record-limit",
            format!("one byte under the largest record is not refused as too large: limit {}, expected record {first} ({largest} bytes) refused, got {other:?}", largest - 1),
        )),
    }
}
