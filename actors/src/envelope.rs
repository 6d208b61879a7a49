//! The Kafka record value: `{"type","run_id","timestamp","payload"}`, written
//! straight into one buffer per record.

use chrono::{DateTime, Utc};

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

    /// A value that is already JSON text (a string literal, an object, `null`).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).extend_from_slice(json.as_bytes());
        self
    }

    pub fn raw_or_null(&mut self, key: &str, json: Option<&str>) -> &mut Self {
        self.raw(key, json.unwrap_or("null"))
    }

    /// A float, Python-style (`1.0`); non-finite values become `null` as in the reference.
    pub fn float(&mut self, key: &str, value: f64) -> &mut Self {
        let buf = self.key(key);
        if value.is_finite() {
            buf.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
        } else {
            buf.extend_from_slice(b"null");
        }
        self
    }

    pub fn int_or_null(&mut self, key: &str, value: Option<i128>) -> &mut Self {
        let buf = self.key(key);
        match value {
            Some(v) => buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
            None => buf.extend_from_slice(b"null"),
        }
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    pub fn datetime(&mut self, key: &str, value: &crate::schema::ClientDateTime) -> &mut Self {
        let buf = self.key(key);
        buf.push(b'"');
        value.write_isoformat(buf);
        buf.push(b'"');
        self
    }

    pub fn finish(&mut self) {
        self.buf.extend_from_slice(b"}}");
    }
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
        header
            .begin(&mut buf, "log_metric", &received)
            .raw("name", "\"loss\"")
            .float("value", 1.0)
            .int_or_null("step", None)
            .float("v", f64::NAN)
            .finish();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            r#"{"type":"log_metric","run_id":"b5cbc18e2aca42ec96d793e1e5b16ecb","timestamp":"2026-11-26T17:21:21.322055Z","payload":{"name":"loss","value":1.0,"step":null,"v":null}}"#
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
