//! Why a frame is refused. The text of each error is the `error` answer the
//! client reads, word for word as the reference gateway wrote it. Client text
//! is quoted only through [`ClientText`]: bounded and escaped.

use super::client_text::ClientText;
use super::datetime::DateTimeError;
use super::table::MAX_NESTING;
use crate::ids::KeyScopeError;

/// Why a frame was rejected, naming the message (by index) and field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("invalid JSON: empty frame")]
    Empty,
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("a frame must be a JSON object or an array of objects")]
    NotObjectOrArray,
    #[error("message {index}: a message must be a JSON object")]
    NotAnObject { index: usize },
    /// The message's JSON is fine but not a message (a field given twice); the detail is the parser's.
    #[error("message {index}: invalid message: {detail}")]
    InvalidMessage { index: usize, detail: String },
    #[error("message {index}: field '{field}': {error}")]
    Field { index: usize, field: &'static str, error: FieldError },
    /// `size` counts the record as librdkafka does: key, value and framing.
    #[error("message {index}: the record is {size} bytes (run id, envelope and Kafka framing), over the limit of {limit} bytes")]
    TooLarge { index: usize, size: usize, limit: usize },
}

/// Why one field's value was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    #[error("field required")]
    Missing,
    #[error("expected {expected}, got {got}")]
    WrongType { expected: &'static str, got: &'static str },
    #[error("unknown message type {0}")]
    UnknownType(ClientText),
    #[error("invalid string: {0}")]
    InvalidString(String),
    #[error("number out of range")]
    NumberOutOfRange,
    #[error("expected a number, got a non-numeric string")]
    NonNumericString,
    #[error("expected an integer, got a non-finite number")]
    NonFiniteInteger,
    #[error("expected an integer, got a non-integer string")]
    NonIntegerString,
    #[error("expected an integer, got a number with a fractional part")]
    FractionalInteger,
    #[error("integer out of range")]
    IntegerOutOfRange,
    #[error("expected an integer")]
    NotAnInteger,
    #[error("expected a boolean, got a string that is not one")]
    NotABooleanString,
    #[error("nested deeper than {MAX_NESTING} levels")]
    TooDeep,
    #[error(transparent)]
    DateTime(#[from] DateTimeError),
    /// With authentication on: an object key that is not the connection's run's.
    #[error("{key} is not an object key of this run: it {why}")]
    KeyOutsideRun { key: ClientText, why: KeyScopeError },
    /// The object's member that names an object key is refused.
    #[error("member '{member}': {refusal}")]
    MemberKey { member: &'static str, refusal: Box<FieldError> },
}
