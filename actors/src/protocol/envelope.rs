//! The Kafka record value: `{"type","run_id","timestamp","payload"}`, written
//! straight into one buffer per record.

use chrono::{DateTime, Utc};

use super::datetime::ClientDateTime;
use super::fields::Value;

/// Per-connection part of every envelope: the run id, JSON-escaped once.
#[derive(Debug, Clone)]
pub struct EnvelopeHeader {
    run_id_json: String,
}

/// Per-frame part: the server's receive time, formatted once.
#[derive(Debug, Clone)]
pub struct ReceiveTime(String);

impl ReceiveTime {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    }
}

impl EnvelopeHeader {
    pub fn new(run_id: &str) -> Self {
        Self { run_id_json: serde_json::to_string(run_id).expect("a string always serialises") }
    }

    /// Starts a record and returns the writer for its payload object.
    pub fn begin<'b>(&self, buf: &'b mut Vec<u8>, message_type: &str, received: &ReceiveTime) -> PayloadWriter<'b> {
        buf.extend_from_slice(b"{\"type\":\"");
        buf.extend_from_slice(message_type.as_bytes());
        buf.extend_from_slice(b"\",\"run_id\":");
        buf.extend_from_slice(self.run_id_json.as_bytes());
        buf.extend_from_slice(b",\"timestamp\":\"");
        buf.extend_from_slice(received.0.as_bytes());
        buf.extend_from_slice(b"\",\"payload\":{");
        PayloadWriter { buf, empty: true }
    }
}

/// Writes the payload's keys in order; `finish` closes payload and envelope.
pub struct PayloadWriter<'b> {
    buf: &'b mut Vec<u8>,
    empty: bool,
}

impl PayloadWriter<'_> {
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
        self.buf
    }

    /// Writes `key` with `value`: JSON text as it is, numbers and booleans
    /// Python-style, datetimes in `isoformat()`.
    #[inline]
    pub fn value(&mut self, key: &str, value: &Value) {
        let buf = self.key(key);
        match value {
            Value::Json(json) => buf.extend_from_slice(json.as_bytes()),
            // Python-style (`1.0`); non-finite values become `null` as in the reference.
            Value::Float(float) if float.is_finite() => buf.extend_from_slice(ryu::Buffer::new().format_finite(*float).as_bytes()),
            Value::Float(_) | Value::Null => buf.extend_from_slice(b"null"),
            Value::Int(int) => buf.extend_from_slice(itoa::Buffer::new().format(*int).as_bytes()),
            Value::Bool(true) => buf.extend_from_slice(b"true"),
            Value::Bool(false) => buf.extend_from_slice(b"false"),
            Value::DateTime(datetime) => write_datetime(buf, datetime),
        }
    }

    pub fn finish(self) {
        self.buf.extend_from_slice(b"}}");
    }
}

fn write_datetime(buf: &mut Vec<u8>, datetime: &ClientDateTime) {
    buf.push(b'"');
    datetime.write_isoformat(buf);
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn writes_the_reference_envelope() {
        let header = EnvelopeHeader::new("b5cbc18e2aca42ec96d793e1e5b16ecb");
        let received = ReceiveTime::new(Utc.timestamp_micros(1_795_713_681_322_055).unwrap());
        let mut buf = Vec::new();
        let mut payload = header.begin(&mut buf, "log_metric", &received);
        payload.value("name", &Value::Json("\"loss\""));
        payload.value("value", &Value::Float(1.0));
        payload.value("step", &Value::Null);
        payload.value("v", &Value::Float(f64::NAN));
        payload.value("level", &Value::Int(-20));
        payload.value("archived", &Value::Bool(false));
        payload.finish();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            r#"{"type":"log_metric","run_id":"b5cbc18e2aca42ec96d793e1e5b16ecb","timestamp":"2026-11-26T17:21:21.322055Z","payload":{"name":"loss","value":1.0,"step":null,"v":null,"level":-20,"archived":false}}"#
        );
    }

    #[test]
    fn escapes_the_run_id_and_writes_empty_payloads() {
        let header = EnvelopeHeader::new("r\"1");
        let mut buf = Vec::new();
        header.begin(&mut buf, "finish_run", &ReceiveTime("t".into())).finish();
        assert_eq!(String::from_utf8(buf).unwrap(), r#"{"type":"finish_run","run_id":"r\"1","timestamp":"t","payload":{}}"#);
    }
}
