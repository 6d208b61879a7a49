//! The one entry point of the protocol: a frame's text in, every Kafka record
//! value out, or why the frame is refused. A frame (one message or an array of
//! them) is parsed once and validated whole, each message by its entry in
//! [`MESSAGE_TYPES`](super::table::MESSAGE_TYPES); nested objects (`context`,
//! `value`, `extra_args`) stay raw JSON text.

use std::borrow::Cow;
use std::ops::Range;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::error::Category;
use serde_json::value::RawValue;

use super::client_text::ClientText;
use super::envelope::{EnvelopeHeader, ReceiveTime};
use super::error::{FieldError, FrameError};
use super::fields::{self, Value};
use super::nonfinite::SanitizedFrame;
use super::object_key::{self, KeyScope};
use super::table::{FieldSpec, MessageType, Presence, Publish, TYPE_SLOT};
use super::wire::{MessageSeed, WireFields};

/// What librdkafka adds to a record's key and value when it checks the
/// record against `message.max.bytes` at enqueue time
/// (`rd_kafka_msg_max_wire_size`: `RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD`, the
/// record's length, attributes, timestamp and offset deltas, key and value
/// lengths and header count at their widest encodings: 5 + 1 + 10 + 5 + 5 + 5 + 5).
pub const RECORD_FRAMING_BYTES: usize = 36;

/// Limits applied while encoding a frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// Largest record as librdkafka counts it: key (the run id), value and
    /// [`RECORD_FRAMING_BYTES`]. librdkafka's `message.max.bytes` is the same
    /// number, so a frame that passes here is never refused record by record
    /// at enqueue time, after some of its records went out.
    pub max_record_bytes: usize,
}

impl FrameLimits {
    /// A record's size as librdkafka counts it against `message.max.bytes`.
    pub const fn record_bytes(key_bytes: usize, value_bytes: usize) -> usize {
        RECORD_FRAMING_BYTES + key_bytes + value_bytes
    }
}

/// A validated frame: every record value, back to back in one buffer.
#[derive(Debug, Default)]
pub struct EncodedFrame {
    buf: Vec<u8>,
    records: Vec<(MessageType, Range<usize>)>,
}

impl EncodedFrame {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The bytes of every record value together.
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// Record `index`'s value.
    pub fn record(&self, index: usize) -> &[u8] {
        &self.buf[self.records[index].1.clone()]
    }

    /// The record values in frame order, with their message types.
    pub fn iter(&self) -> impl Iterator<Item = (MessageType, &[u8])> {
        self.records.iter().map(|(t, range)| (*t, &self.buf[range.clone()]))
    }
}

/// Encodes one connection's frames: its run id is in every envelope and is
/// every record's key.
#[derive(Debug, Clone)]
pub struct FrameEncoder {
    header: EnvelopeHeader,
    run_id: Box<str>,
    limits: FrameLimits,
    key_scope: KeyScope,
}

impl FrameEncoder {
    /// An encoder that lets messages name any object key, as the reference.
    pub fn new(run_id: &str, limits: FrameLimits) -> Self {
        Self { header: EnvelopeHeader::new(run_id), run_id: run_id.into(), limits, key_scope: KeyScope::Any }
    }

    /// This encoder, letting messages name only the object keys `scope` allows.
    pub fn with_key_scope(self, key_scope: KeyScope) -> Self {
        Self { key_scope, ..self }
    }

    /// Parses and validates a whole frame in one pass; all of its records, or an error.
    pub fn encode(&self, text: &str, received_at: DateTime<Utc>) -> Result<EncodedFrame, FrameError> {
        let frame = SanitizedFrame::new(text);
        // JSON's whitespace only, as Python's json: not every Unicode space.
        let body = frame.text.trim_start_matches([' ', '\t', '\n', '\r']);
        let received = ReceiveTime::new(received_at);
        // Records are the messages plus an envelope each: reserve once, no regrowth.
        let out = EncodedFrame { buf: Vec::with_capacity(body.len() + body.len() / 2 + 256), records: Vec::new() };
        let mut reader = FrameReader {
            encoder: self,
            frame: &frame,
            received: &received,
            out,
            wire: WireFields::default(),
            entered: false,
            failure: None,
        };
        let mut de = serde_json::Deserializer::from_str(body);
        let parsed = match body.as_bytes().first() {
            Some(b'[') => serde::Deserializer::deserialize_seq(&mut de, &mut reader),
            Some(b'{') => reader.next_message().deserialize(&mut de).and_then(|()| reader.push()),
            Some(_) => {
                return Err(match serde_json::from_str::<&RawValue>(body) {
                    Ok(_) => FrameError::NotObjectOrArray,
                    Err(e) => FrameError::InvalidJson(e.to_string()),
                })
            }
            None => return Err(FrameError::Empty),
        };
        if let Some(failure) = reader.failure {
            return Err(failure);
        }
        parsed.and_then(|()| de.end()).map_err(|e| reader.parse_error(e))?;
        Ok(reader.out)
    }
}

/// Encodes messages as the parser yields them, into one buffer.
struct FrameReader<'f> {
    encoder: &'f FrameEncoder,
    frame: &'f SanitizedFrame<'f>,
    received: &'f ReceiveTime,
    out: EncodedFrame,
    /// The message being read.
    wire: WireFields<'f>,
    /// The message being read has begun as an object.
    entered: bool,
    /// Our own validation error, which stops the parser.
    failure: Option<FrameError>,
}

impl<'f> FrameReader<'f> {
    /// Reads the next message into `self.wire`.
    fn next_message(&mut self) -> MessageSeed<'_, 'f> {
        MessageSeed { fields: &mut self.wire, entered: &mut self.entered }
    }

    /// Encodes the message in `self.wire`.
    fn push<E: serde::de::Error>(&mut self) -> Result<(), E> {
        let index = self.out.len();
        let start = self.out.buf.len();
        let limit = self.encoder.limits.max_record_bytes;
        let encoded = self.encode_message().map_err(|(field, error)| FrameError::Field { index, field, error });
        let size = FrameLimits::record_bytes(self.encoder.run_id.len(), self.out.buf.len() - start);
        match encoded {
            Ok(_) if size > limit => self.failure = Some(FrameError::TooLarge { index, size, limit }),
            Ok(message_type) => self.out.records.push((message_type, start..self.out.buf.len())),
            Err(failure) => self.failure = Some(failure),
        }
        match self.failure {
            Some(_) => Err(E::custom("invalid message")),
            None => Ok(()),
        }
    }

    /// Writes one record, checking and publishing the fields as the type's table entry says.
    fn encode_message(&mut self) -> Result<MessageType, (&'static str, FieldError)> {
        let wire = &self.wire;
        let message_type = message_type(wire.get(TYPE_SLOT)).map_err(|error| ("type", error))?;
        let spec = message_type.spec();
        let mut payload = self.encoder.header.begin(&mut self.out.buf, spec.name, self.received);
        for field in spec.fields {
            let raw = wire.get(field.slot);
            let value = decode_field(field, raw, self.frame).map_err(|error| (field.name, error))?;
            if let (KeyScope::OwnRun, Some(key_at), Some(raw), Some(_)) = (self.encoder.key_scope, field.object_key, raw, &value) {
                object_key::check(key_at, raw, &self.encoder.run_id).map_err(|error| (field.name, error))?;
            }
            match (field.publish, value) {
                (Publish::Never, _) | (Publish::IfSet, None) => {}
                (_, Some(value)) => payload.value(field.name, &value),
                (Publish::Always, None) => payload.value(field.name, &Value::Null),
            }
        }
        payload.finish();
        Ok(message_type)
    }

    /// A parser error while reading message `self.out.len()`.
    fn parse_error(&self, error: serde_json::Error) -> FrameError {
        let index = self.out.len();
        match (error.classify(), self.entered) {
            (Category::Data, false) => FrameError::NotAnObject { index },
            (Category::Data, true) => FrameError::InvalidMessage { index, detail: error.to_string() },
            _ => FrameError::InvalidJson(error.to_string()),
        }
    }
}

impl<'f> Visitor<'f> for &mut FrameReader<'f> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'f>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(()) = seq.next_element_seed(self.next_message())? {
            self.push()?;
        }
        Ok(())
    }
}

/// The `type` field: a known type name.
fn message_type(raw: Option<&RawValue>) -> Result<MessageType, FieldError> {
    let raw = raw.ok_or(FieldError::Missing)?;
    // Type names need no escapes: compare the literal itself unless it has some.
    let literal = fields::string(raw)?;
    let name: Cow<str> = if literal.contains('\\') { fields::string_value(raw)? } else { Cow::Borrowed(&literal[1..literal.len() - 1]) };
    MessageType::parse(&name).ok_or_else(|| FieldError::UnknownType(ClientText::new(&name)))
}

/// A field by its table entry: `None` when it is not given (absent, or a
/// `null` where that means "not given").
fn decode_field<'a>(field: &FieldSpec, raw: Option<&'a RawValue>, frame: &SanitizedFrame) -> Result<Option<Value<'a>>, FieldError> {
    let raw = match (field.presence, raw) {
        (Presence::Required | Presence::Nullable, None) => return Err(FieldError::Missing),
        (Presence::Defaulted(literal), None) => return Ok(Some(Value::Json(literal))),
        (Presence::Optional, None) => return Ok(None),
        (Presence::Nullable | Presence::Optional, Some(raw)) if fields::is_null(raw, frame) => return Ok(None),
        (_, Some(raw)) => raw,
    };
    fields::decode(field.kind, raw, frame).map(Some)
}
