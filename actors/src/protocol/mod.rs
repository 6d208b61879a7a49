//! The WebSocket protocol of PROTOCOL.md: which messages a client may send,
//! and the Kafka records they become.
//!
//! - [`table`]: the messages, their fields and how each is published, as data;
//! - [`FrameEncoder`]: the one entry point, a frame's text to record values;
//! - [`FrameError`]: why a frame is refused, in the words the client reads
//!   (client text in it bounded and escaped: [`ClientText`]);
//! - [`KeyScope`]: whether the object keys messages name must be their run's.
//!
//! The rest is the encoder's inside: the wire reader, the lax field decoders
//! (pydantic's coercions), datetimes, `NaN`/`Infinity`, and the envelope writer.

mod client_text;
mod datetime;
mod encoder;
mod envelope;
mod error;
mod fields;
mod nonfinite;
mod object_key;
pub mod table;
mod wire;

pub use client_text::{ClientText, SHOWN_CHARS};
pub use encoder::{EncodedFrame, FrameEncoder, FrameLimits, RECORD_FRAMING_BYTES};
pub use error::{FieldError, FrameError};
pub use nonfinite::SanitizedFrame;
pub use object_key::KeyScope;
pub use table::{MessageType, MESSAGE_TYPES, WIRE_FIELDS};

#[cfg(test)]
mod tests;
