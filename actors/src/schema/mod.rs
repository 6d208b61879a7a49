//! The WebSocket frame schema of PROTOCOL.md: a frame (one message or an array
//! of them) is parsed once, validated whole, and turned into Kafka record values.
//! Nested objects (`context`, `value`, `extra_args`) stay raw JSON text.

mod datetime;
mod fields;
mod nonfinite;

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

pub use datetime::ClientDateTime;
pub use nonfinite::SanitizedFrame;

use crate::envelope::{EnvelopeHeader, ReceiveTime};
use fields::Reason;

/// The eleven accepted message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    CreateRun,
    LogMetric,
    LogHparams,
    FinishRun,
    SetRunProperty,
    AddTag,
    RemoveTag,
    LogCustomObject,
    LogTerminalLine,
    LogRecord,
    BlobRef,
}

impl MessageType {
    pub const ALL: [MessageType; 11] = [
        Self::CreateRun,
        Self::LogMetric,
        Self::LogHparams,
        Self::FinishRun,
        Self::SetRunProperty,
        Self::AddTag,
        Self::RemoveTag,
        Self::LogCustomObject,
        Self::LogTerminalLine,
        Self::LogRecord,
        Self::BlobRef,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateRun => "create_run",
            Self::LogMetric => "log_metric",
            Self::LogHparams => "log_hparams",
            Self::FinishRun => "finish_run",
            Self::SetRunProperty => "set_run_property",
            Self::AddTag => "add_tag",
            Self::RemoveTag => "remove_tag",
            Self::LogCustomObject => "log_custom_object",
            Self::LogTerminalLine => "log_terminal_line",
            Self::LogRecord => "log_record",
            Self::BlobRef => "blob_ref",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// Why a frame was rejected; the text goes into the `error` answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("a frame must be a JSON object or an array of objects")]
    NotObjectOrArray,
    #[error("message {index}: {reason}")]
    Message { index: usize, reason: Reason },
    #[error("message {index}: field '{field}': {reason}")]
    Field { index: usize, field: &'static str, reason: Reason },
    #[error("message {index}: the record is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { index: usize, size: usize, limit: usize },
}

/// A validated frame: every record value, back to back in one buffer.
#[derive(Debug, Default)]
pub struct EncodedFrame {
    buf: Vec<u8>,
    records: Vec<(MessageType, std::ops::Range<usize>)>,
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

/// Every field any message type reads; `None` = absent, `Some("null")` = null.
#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(rename = "type", default, borrow, deserialize_with = "present")]
    kind: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    client_datetime: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    force_resume: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    name: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    value: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    step: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    epoch: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    context: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    dtype: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    description: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    archived: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    experiment: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    tag_name: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    line: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    message: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    level: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    timestamp: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    logger_info: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    extra_args: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    s3_key: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    artifact_path: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    content_type: Option<&'a RawValue>,
}

/// Keeps a present `null` as `Some("null")` instead of folding it into `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Limits applied while encoding a frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// Largest record value accepted (the broker refuses larger ones).
    pub max_record_bytes: usize,
}

/// Parses and validates a whole frame in one pass; all of its messages, or an error.
pub fn encode_frame(text: &str, header: &EnvelopeHeader, received: &ReceiveTime, limits: FrameLimits) -> Result<EncodedFrame, FrameError> {
    let frame = SanitizedFrame::new(text);
    // JSON's whitespace only, as Python's json: not every Unicode space.
    let body = frame.text.trim_start_matches([' ', '\t', '\n', '\r']);
    // Records are the messages plus an envelope each: reserve once, no regrowth.
    let out = EncodedFrame { buf: Vec::with_capacity(body.len() + body.len() / 2 + 256), records: Vec::new() };
    let mut encoder = FrameEncoder { frame: &frame, header, received, limits, out, failure: None };
    let mut de = serde_json::Deserializer::from_str(body);
    let parsed = match body.as_bytes().first() {
        Some(b'[') => serde::Deserializer::deserialize_seq(&mut de, &mut encoder),
        Some(b'{') => WireMessage::deserialize(ObjectOnly(&mut de)).and_then(|wire| encoder.push(wire)),
        Some(_) => {
            return Err(match serde_json::from_str::<&RawValue>(body) {
                Ok(_) => FrameError::NotObjectOrArray,
                Err(e) => FrameError::InvalidJson(e.to_string()),
            })
        }
        None => return Err(FrameError::InvalidJson("empty frame".into())),
    };
    if let Some(failure) = encoder.failure {
        return Err(failure);
    }
    parsed.and_then(|()| de.end()).map_err(|e| encoder_error(e, encoder.out.len(), body.starts_with('{')))?;
    Ok(encoder.out)
}

/// A serde error while reading message `index`: a message that is not an
/// object or does not fit the message struct, or JSON that is not valid.
fn encoder_error(error: serde_json::Error, index: usize, single: bool) -> FrameError {
    if error.classify() != serde_json::error::Category::Data {
        return FrameError::InvalidJson(error.to_string());
    }
    let text = error.to_string();
    let reason = if text.contains("expected struct WireMessage") && !single {
        "a message must be a JSON object".into()
    } else {
        format!("invalid message: {text}").into()
    };
    FrameError::Message { index, reason }
}

/// Encodes messages as the parser yields them, into one buffer.
struct FrameEncoder<'f> {
    frame: &'f SanitizedFrame<'f>,
    header: &'f EnvelopeHeader,
    received: &'f ReceiveTime,
    limits: FrameLimits,
    out: EncodedFrame,
    /// Our own validation error, which stops the parser.
    failure: Option<FrameError>,
}

impl FrameEncoder<'_> {
    fn push<E: serde::de::Error>(&mut self, wire: WireMessage) -> Result<(), E> {
        let index = self.out.len();
        let start = self.out.buf.len();
        let result = encode_message(&wire, self.frame, self.header, self.received, &mut self.out.buf).map_err(|e| e.at(index)).and_then(
            |message_type| {
                let size = self.out.buf.len() - start;
                if size > self.limits.max_record_bytes {
                    return Err(FrameError::TooLarge { index, size, limit: self.limits.max_record_bytes });
                }
                Ok(message_type)
            },
        );
        match result {
            Ok(message_type) => {
                self.out.records.push((message_type, start..self.out.buf.len()));
                Ok(())
            }
            Err(failure) => {
                self.failure = Some(failure);
                Err(E::custom("invalid message"))
            }
        }
    }
}

impl<'de> serde::de::Visitor<'de> for &mut FrameEncoder<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(wire) = seq.next_element::<ObjectOnly<WireMessage>>()?.map(|ObjectOnly(wire)| wire) {
            self.push(wire)?;
        }
        Ok(())
    }
}

/// A message is a JSON object. The derived struct decoder would also take an
/// array and fill the fields by position, which the reference refuses; this
/// asks the parser for a map, so an array is a type error.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(ObjectOnly(d)).map(ObjectOnly)
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// An error in one field of a message, before the message's index is known.
struct MessageError(&'static str, Reason);

impl MessageError {
    fn at(self, index: usize) -> FrameError {
        FrameError::Field { index, field: self.0, reason: self.1 }
    }
}

/// Decodes one field with `decode`, naming the field in errors.
struct Fields<'f> {
    frame: &'f SanitizedFrame<'f>,
}

impl<'f> Fields<'f> {
    fn required<'a, T>(
        &self,
        field: &'static str,
        raw: Option<&'a RawValue>,
        decode: impl FnOnce(&'a RawValue) -> Result<T, Reason>,
    ) -> Result<T, MessageError> {
        let raw = raw.ok_or(MessageError(field, "field required".into()))?;
        decode(raw).map_err(|r| MessageError(field, r))
    }

    /// Absent or `null` gives `None`.
    fn optional<'a, T>(
        &self,
        field: &'static str,
        raw: Option<&'a RawValue>,
        decode: impl FnOnce(&'a RawValue) -> Result<T, Reason>,
    ) -> Result<Option<T>, MessageError> {
        match raw {
            Some(raw) if !fields::is_null(raw, self.frame) => decode(raw).map(Some).map_err(|r| MessageError(field, r)),
            _ => Ok(None),
        }
    }

    /// Must be present; `null` gives `None`.
    fn nullable<'a, T>(
        &self,
        field: &'static str,
        raw: Option<&'a RawValue>,
        decode: impl FnOnce(&'a RawValue) -> Result<T, Reason>,
    ) -> Result<Option<T>, MessageError> {
        let raw = raw.ok_or(MessageError(field, "field required".into()))?;
        self.optional(field, Some(raw), decode)
    }

    /// May be absent (the caller's default applies); `null` is refused like any wrong type.
    fn defaulted<'a, T>(
        &self,
        field: &'static str,
        raw: Option<&'a RawValue>,
        decode: impl FnOnce(&'a RawValue) -> Result<T, Reason>,
    ) -> Result<Option<T>, MessageError> {
        raw.map(|raw| decode(raw).map_err(|r| MessageError(field, r))).transpose()
    }

    fn float(&self, field: &'static str, raw: Option<&RawValue>) -> Result<f64, MessageError> {
        self.required(field, raw, |r| fields::float(r, self.frame))
    }

    fn int(&self, field: &'static str, raw: Option<&RawValue>) -> Result<i128, MessageError> {
        self.required(field, raw, |r| fields::int(r, self.frame))
    }

    fn datetime(&self, field: &'static str, raw: Option<&RawValue>) -> Result<ClientDateTime, MessageError> {
        self.required(field, raw, |r| fields::datetime(r, self.frame))
    }

    fn optional_int(&self, field: &'static str, raw: Option<&RawValue>) -> Result<Option<i128>, MessageError> {
        match raw {
            Some(raw) => fields::nullable_int(raw, self.frame).map_err(|r| MessageError(field, r)),
            None => Ok(None),
        }
    }

    fn nullable_int(&self, field: &'static str, raw: Option<&RawValue>) -> Result<Option<i128>, MessageError> {
        let raw = raw.ok_or(MessageError(field, "field required".into()))?;
        self.optional_int(field, Some(raw))
    }
}

fn encode_message(
    wire: &WireMessage,
    frame: &SanitizedFrame,
    header: &EnvelopeHeader,
    received: &ReceiveTime,
    record: &mut Vec<u8>,
) -> Result<MessageType, MessageError> {
    let f = Fields { frame };
    let message_type = f.required("type", wire.kind, |raw| {
        // Type names need no escapes: compare the literal itself unless it has some.
        let literal = fields::string(raw)?;
        let name: Cow<str> =
            if literal.contains('\\') { fields::string_value(raw)? } else { Cow::Borrowed(&literal[1..literal.len() - 1]) };
        MessageType::parse(&name).ok_or_else(|| format!("unknown message type '{name}'").into())
    })?;

    let mut out = header.begin(record, message_type.as_str(), received);
    match message_type {
        MessageType::CreateRun => {
            let client_datetime = f.datetime("client_datetime", wire.client_datetime)?;
            let force_resume = f.defaulted("force_resume", wire.force_resume, fields::boolean)?.unwrap_or(false);
            out.datetime("client_datetime", &client_datetime).bool("force_resume", force_resume);
        }
        MessageType::LogMetric => {
            let name = f.required("name", wire.name, fields::string)?;
            let value = f.float("value", wire.value)?;
            let step = f.nullable_int("step", wire.step)?;
            let epoch = f.nullable_int("epoch", wire.epoch)?;
            let context = f.nullable("context", wire.context, fields::object)?;
            let dtype = f.nullable("dtype", wire.dtype, fields::string)?;
            let client_datetime = f.datetime("client_datetime", wire.client_datetime)?;
            out.raw("name", name)
                .float("value", value)
                .int_or_null("step", step)
                .int_or_null("epoch", epoch)
                .raw_or_null("context", context)
                .raw_or_null("dtype", dtype)
                .datetime("client_datetime", &client_datetime);
        }
        MessageType::LogHparams => {
            out.raw("value", f.required("value", wire.value, fields::object)?);
        }
        MessageType::FinishRun => {}
        MessageType::SetRunProperty => {
            let name = f.optional("name", wire.name, fields::string)?;
            let description = f.optional("description", wire.description, fields::string)?;
            let archived = f.optional("archived", wire.archived, fields::boolean)?;
            let experiment = f.optional("experiment", wire.experiment, fields::string)?;
            if let Some(name) = name {
                out.raw("name", name);
            }
            if let Some(description) = description {
                out.raw("description", description);
            }
            if let Some(archived) = archived {
                out.bool("archived", archived);
            }
            if let Some(experiment) = experiment {
                out.raw("experiment", experiment);
            }
        }
        MessageType::AddTag | MessageType::RemoveTag => {
            out.raw("tag_name", f.required("tag_name", wire.tag_name, fields::string)?);
        }
        MessageType::LogCustomObject => {
            let name = f.required("name", wire.name, fields::string)?;
            let value = f.required("value", wire.value, fields::object)?;
            let step = f.optional_int("step", wire.step)?;
            let epoch = f.optional_int("epoch", wire.epoch)?;
            let context = f.optional("context", wire.context, fields::object)?;
            let dtype = f.defaulted("dtype", wire.dtype, fields::string)?;
            f.optional("client_datetime", wire.client_datetime, |r| fields::datetime(r, frame))?;
            out.raw("name", name)
                .raw("value", value)
                .int_or_null("step", step)
                .int_or_null("epoch", epoch)
                .raw_or_null("context", context)
                .raw("dtype", dtype.unwrap_or("\"custom\""));
        }
        MessageType::LogTerminalLine => {
            let line = f.required("line", wire.line, fields::string)?;
            let step = f.int("step", wire.step)?;
            out.raw("line", line).int_or_null("step", Some(step));
        }
        MessageType::LogRecord => {
            let message = f.required("message", wire.message, fields::string)?;
            let level = f.int("level", wire.level)?;
            let timestamp = f.float("timestamp", wire.timestamp)?;
            let logger_info = f.optional("logger_info", wire.logger_info, fields::array)?;
            let extra_args = f.optional("extra_args", wire.extra_args, fields::object)?;
            out.raw("message", message).int_or_null("level", Some(level)).float("timestamp", timestamp);
            if let Some(logger_info) = logger_info {
                out.raw("logger_info", logger_info);
            }
            if let Some(extra_args) = extra_args {
                out.raw("extra_args", extra_args);
            }
        }
        MessageType::BlobRef => {
            let s3_key = f.required("s3_key", wire.s3_key, fields::string)?;
            let artifact_path = f.required("artifact_path", wire.artifact_path, fields::string)?;
            let content_type = f.defaulted("content_type", wire.content_type, fields::string)?;
            out.raw("s3_key", s3_key)
                .raw("artifact_path", artifact_path)
                .raw("content_type", content_type.unwrap_or("\"application/octet-stream\""));
        }
    }
    out.finish();
    Ok(message_type)
}

#[cfg(test)]
mod tests;
