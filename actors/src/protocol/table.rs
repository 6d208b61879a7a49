//! The message table: every message type of PROTOCOL.md, each field it reads,
//! the field's kind, whether it may be absent or `null`, and how it is
//! published. The encoder, the tests and the fuzzer all read this one table;
//! the reference goldens check it against the reference's own models.

/// The eleven accepted message types, in the table's order.
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

    /// This type's entry in [`MESSAGE_TYPES`].
    pub fn spec(self) -> &'static MessageSpec {
        &MESSAGE_TYPES[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        MESSAGE_TYPES.iter().find(|spec| spec.name == name).map(|spec| spec.message_type)
    }
}

/// What a field holds, and so how it is decoded (laxly, as pydantic) and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A JSON string, published as the client's own literal.
    String,
    /// A JSON object, published as the client's own text.
    Object,
    /// A JSON array, published as the client's own text.
    Array,
    /// A number, numeric string or boolean, published as a float (`1.0`); non-finite as `null`.
    Float,
    /// An integral number, numeric string or boolean, published as an integer.
    Int,
    /// A boolean, 0/1 or a word pydantic knows, published as `true`/`false`.
    Bool,
    /// An ISO 8601 string, a date or a Unix timestamp, published in Python's `isoformat()`.
    DateTime,
}

impl FieldKind {
    /// Whether the published value is the client's own JSON text.
    pub fn is_copied(self) -> bool {
        matches!(self, Self::String | Self::Object | Self::Array)
    }
}

/// Whether a field may be absent or `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Present and not `null`.
    Required,
    /// Present; `null` is a value.
    Nullable,
    /// Absent and `null` both mean "not given".
    Optional,
    /// Absent gives this JSON literal; `null` is refused like any wrong type.
    Defaulted(&'static str),
}

/// Whether a field goes into the published payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// Always written; `null` when not given.
    Always,
    /// Written only when given and not `null`.
    IfSet,
    /// Validated, never written.
    Never,
}

/// A field that names an object in the blob store. With authentication on,
/// the object must be one of the connection's run (`<run_id>/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKey {
    /// The field is the key.
    Itself,
    /// The field is a JSON object whose member of this name, when given (not `null`), is the key.
    Member(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub presence: Presence,
    pub publish: Publish,
    pub object_key: Option<ObjectKey>,
    /// The field's place in [`WIRE_FIELDS`].
    pub(crate) slot: usize,
}

impl FieldSpec {
    /// This field, naming an object in the blob store.
    const fn naming(self, key: ObjectKey) -> Self {
        Self { object_key: Some(key), ..self }
    }
}

/// A message type's fields, in the order they are checked and published.
#[derive(Debug)]
pub struct MessageSpec {
    pub message_type: MessageType,
    pub name: &'static str,
    pub fields: &'static [FieldSpec],
}

/// Every field name a message may carry; other keys are ignored. A message
/// giving one of these twice is refused, whatever its type reads.
pub const WIRE_FIELDS: [&str; 22] = [
    "type",
    "client_datetime",
    "force_resume",
    "name",
    "value",
    "step",
    "epoch",
    "context",
    "dtype",
    "description",
    "archived",
    "experiment",
    "tag_name",
    "line",
    "message",
    "level",
    "timestamp",
    "logger_info",
    "extra_args",
    "s3_key",
    "artifact_path",
    "content_type",
];

/// Deepest nesting of a value published as sent. Python's JSON reader, which
/// the workers use, gives up near 1000 levels (its recursion limit); the
/// reference refused such frames, so do we, well before.
pub const MAX_NESTING: usize = 500;

/// The place of the `type` field in [`WIRE_FIELDS`].
pub(crate) const TYPE_SLOT: usize = slot_of("type");

use FieldKind::{Array, Bool, DateTime, Float, Int, Object, String};
use ObjectKey::{Itself, Member};
use Presence::{Defaulted, Nullable, Optional, Required};
use Publish::{Always, IfSet, Never};

/// The protocol, one entry per message type, indexed by [`MessageType`]:
/// each field's name, kind, publication and presence.
#[rustfmt::skip]
pub const MESSAGE_TYPES: [MessageSpec; 11] = [
    message(MessageType::CreateRun, "create_run", &[
        field("client_datetime", DateTime, Always, Required),
        field("force_resume",    Bool,     Always, Defaulted("false")),
    ]),
    message(MessageType::LogMetric, "log_metric", &[
        field("name",            String,   Always, Required),
        field("value",           Float,    Always, Required),
        field("step",            Int,      Always, Nullable),
        field("epoch",           Int,      Always, Nullable),
        field("context",         Object,   Always, Nullable),
        field("dtype",           String,   Always, Nullable),
        field("client_datetime", DateTime, Always, Required),
    ]),
    message(MessageType::LogHparams, "log_hparams", &[
        field("value",           Object,   Always, Required),
    ]),
    message(MessageType::FinishRun, "finish_run", &[]),
    message(MessageType::SetRunProperty, "set_run_property", &[
        field("name",            String,   IfSet,  Optional),
        field("description",     String,   IfSet,  Optional),
        field("archived",        Bool,     IfSet,  Optional),
        field("experiment",      String,   IfSet,  Optional),
    ]),
    message(MessageType::AddTag, "add_tag", &[
        field("tag_name",        String,   Always, Required),
    ]),
    message(MessageType::RemoveTag, "remove_tag", &[
        field("tag_name",        String,   Always, Required),
    ]),
    message(MessageType::LogCustomObject, "log_custom_object", &[
        field("name",            String,   Always, Required),
        // The stock client's images and audio: `{"type": "image", …, "s3_key": "<run_id>/seq/…"}`.
        field("value",           Object,   Always, Required).naming(Member("s3_key")),
        field("step",            Int,      Always, Optional),
        field("epoch",           Int,      Always, Optional),
        field("context",         Object,   Always, Optional),
        field("dtype",           String,   Always, Defaulted("\"custom\"")),
        field("client_datetime", DateTime, Never,  Optional),
    ]),
    message(MessageType::LogTerminalLine, "log_terminal_line", &[
        field("line",            String,   Always, Required),
        field("step",            Int,      Always, Required),
    ]),
    message(MessageType::LogRecord, "log_record", &[
        field("message",         String,   Always, Required),
        field("level",           Int,      Always, Required),
        field("timestamp",       Float,    Always, Required),
        field("logger_info",     Array,    IfSet,  Optional),
        field("extra_args",      Object,   IfSet,  Optional),
    ]),
    message(MessageType::BlobRef, "blob_ref", &[
        field("s3_key",          String,   Always, Required).naming(Itself),
        field("artifact_path",   String,   Always, Required),
        field("content_type",    String,   Always, Defaulted("\"application/octet-stream\"")),
    ]),
];

const fn message(message_type: MessageType, name: &'static str, fields: &'static [FieldSpec]) -> MessageSpec {
    MessageSpec { message_type, name, fields }
}

const fn field(name: &'static str, kind: FieldKind, publish: Publish, presence: Presence) -> FieldSpec {
    FieldSpec { name, kind, presence, publish, object_key: None, slot: slot_of(name) }
}

/// `name`'s place in [`WIRE_FIELDS`]; a name missing there fails the build.
const fn slot_of(name: &str) -> usize {
    let mut slot = 0;
    while slot < WIRE_FIELDS.len() {
        if same_str(WIRE_FIELDS[slot], name) {
            return slot;
        }
        slot += 1;
    }
    panic!("a table field is missing from WIRE_FIELDS")
}

const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The place of a wire field named `name`, if it is one.
pub(crate) fn wire_slot(name: &str) -> Option<usize> {
    WIRE_FIELDS.iter().position(|field| *field == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_indexed_by_their_type() {
        for (index, spec) in MESSAGE_TYPES.iter().enumerate() {
            assert_eq!(spec.message_type as usize, index, "{}", spec.name);
            assert_eq!(MessageType::ALL[index], spec.message_type);
            assert_eq!(MessageType::parse(spec.name), Some(spec.message_type));
        }
    }

    #[test]
    fn every_wire_field_is_read_by_some_type() {
        for name in WIRE_FIELDS.iter().filter(|name| **name != "type") {
            let read = MESSAGE_TYPES.iter().flat_map(|spec| spec.fields).any(|field| field.name == *name);
            assert!(read, "`{name}` is in WIRE_FIELDS but no message type reads it");
        }
    }

    #[test]
    fn defaults_are_json_of_their_kind() {
        for field in MESSAGE_TYPES.iter().flat_map(|spec| spec.fields) {
            if let Presence::Defaulted(literal) = field.presence {
                let value: serde_json::Value = serde_json::from_str(literal).expect("a JSON default");
                let fits = match field.kind {
                    FieldKind::String => value.is_string(),
                    FieldKind::Bool => value.is_boolean(),
                    _ => false,
                };
                assert!(fits, "`{}`'s default {literal} is not a {:?}", field.name, field.kind);
            }
        }
    }
}
