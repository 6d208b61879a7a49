//! The WebSocket protocol of PROTOCOL.md: which messages a client may send,
//! and the Kafka records they become.
//!
//! - [`table`]: the messages, their fields and how each is published, as data;
//! - [`FrameEncoder`]: the one entry point, a frame's text to record values;
//! - [`FrameError`]: why a frame is refused, in the words the client reads.
//!
//! The rest is the encoder's inside: the wire reader, the lax field decoders
//! (pydantic's coercions), datetimes, `NaN`/`Infinity`, and the envelope writer.

mod datetime;
mod encoder;
mod envelope;
mod error;
mod fields;
mod nonfinite;
pub mod table;
mod wire;

pub use encoder::{EncodedFrame, FrameEncoder, FrameLimits, RECORD_FRAMING_BYTES};
pub use error::{FieldError, FrameError};
pub use nonfinite::SanitizedFrame;
pub use table::{MessageType, MESSAGE_TYPES, WIRE_FIELDS};

#[cfg(test)]
mod tests;
