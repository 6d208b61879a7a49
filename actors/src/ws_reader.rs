//! Reads a session's frames off its socket, under backpressure.
//!
//! While the session cannot take data (its [`ReadGate`] is closed, or the
//! [`InflightBudget`] has no room to accept), pings and pongs are still read
//! and answered, and at most one data frame is taken and parked until it can;
//! the next data frame stays unread, so TCP pushes back on the client.
//! Bytes of data frames not yet handed to the session (arriving, parked, or
//! fragments of a message) are charged to the budget, and the rest of a
//! partial frame is read only while it has room: what clients park is bounded by it.
//! A frame, or a fragmented message, must complete within the receive deadline
//! (counted while its socket is read).
//!
//! [`InflightBudget`]: crate::backpressure::InflightBudget

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item, Message, ProtocolError};
use actix_web::error::PayloadError;
use actix_web::web::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_core::Stream;
use tokio::time::Sleep;

use crate::backpressure::{ArrivingBytes, ReadGate, Room};

/// Control frames carry at most this many payload bytes (RFC 6455 §5.5).
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// What the next frame in the buffer is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NextFrame {
    /// Ping or pong: always read, even past a parked data frame.
    Heartbeat,
    /// Close: read unless a data frame is parked, so it stays behind it.
    Close,
    Data,
}

impl NextFrame {
    fn of(first_byte: u8) -> Self {
        match first_byte & 0x0F {
            0x9 | 0xA => NextFrame::Heartbeat,
            0x8 => NextFrame::Close,
            _ => NextFrame::Data,
        }
    }
}

/// The payload length a frame header announces, and the header's own length,
/// once the buffer holds the header.
fn announced_length(buf: &[u8]) -> Option<(u64, usize)> {
    let second = *buf.get(1)?;
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let (length, header) = match second & 0x7F {
        126 => (u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)), 4),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?), 10),
        length => (u64::from(length), 2),
    };
    Some((length, header + mask))
}

/// Does the buffer begin with a whole frame?
fn begins_with_whole_frame(buf: &[u8]) -> bool {
    announced_length(buf).is_some_and(|(length, header)| buf.len().saturating_sub(header) as u64 >= length)
}

fn payload_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes)
        | Message::Continuation(Item::FirstText(bytes) | Item::FirstBinary(bytes) | Item::Continue(bytes) | Item::Last(bytes)) => {
            bytes.len()
        }
        _ => 0,
    }
}

/// The error a frame not completed within the receive deadline ends the read with.
pub fn is_stalled_frame(error: &ProtocolError) -> bool {
    matches!(error, ProtocolError::Io(e) if e.kind() == io::ErrorKind::TimedOut)
}

pub struct FrameReader<S> {
    payload: S,
    gate: ReadGate,
    codec: Codec,
    max_frame_bytes: usize,
    receive_deadline: Duration,
    /// Bytes read and not yet decoded.
    buf: BytesMut,
    /// A data frame taken while the session could not take it: its length and when it was read.
    parked: Option<(Message, usize, Instant)>,
    /// When the first bytes in the buffer were read from the socket.
    frame_read_at: Option<Instant>,
    /// Payload bytes of the fragmented message being received.
    fragment_bytes: Option<usize>,
    arriving: ArrivingBytes,
    /// When the frame or fragmented message being received must be complete by:
    /// set when we first wait for its bytes.
    deadline: Option<Pin<Box<Sleep>>>,
    ended: bool,
}

impl<S> FrameReader<S> {
    pub fn new(payload: S, gate: ReadGate, max_frame_bytes: usize, receive_deadline: Duration) -> Self {
        let arriving = gate.budget().charge();
        Self {
            payload,
            gate,
            codec: Codec::new().max_size(max_frame_bytes),
            max_frame_bytes,
            receive_deadline,
            buf: BytesMut::new(),
            parked: None,
            frame_read_at: None,
            fragment_bytes: None,
            arriving,
            deadline: None,
            ended: false,
        }
    }

    fn update_charge(&mut self) {
        let parked = self.parked.as_ref().map_or(0, |(_, len, _)| *len);
        self.arriving.set(self.buf.len() + parked + self.fragment_bytes.unwrap_or(0));
    }

    /// A data frame may be decoded when nothing is parked (a parked frame is
    /// handed over first), and it is whole in the buffer (decoding it takes no
    /// new memory, and parking it lets a ping behind it be read) or the budget
    /// has room to read the rest of it.
    fn may_take_data(&self, cx: &mut Context<'_>) -> bool {
        self.parked.is_none() && (begins_with_whole_frame(&self.buf) || self.gate.poll_room(cx, Room::ToRead))
    }

    /// The session may take a data frame now: its gate is open and the budget has room to accept it.
    fn may_hand_over(&self, cx: &mut Context<'_>) -> bool {
        self.gate.poll_open(cx) && self.gate.poll_room(cx, Room::ToAccept)
    }

    /// Refuses lengths the decoder would otherwise wait for in full before refusing.
    fn check_header(&self) -> Result<(), ProtocolError> {
        let (Some(&first), Some((length, _))) = (self.buf.first(), announced_length(&self.buf)) else { return Ok(()) };
        match NextFrame::of(first) {
            NextFrame::Data if length > self.max_frame_bytes as u64 => Err(ProtocolError::Overflow),
            NextFrame::Heartbeat | NextFrame::Close if length > MAX_CONTROL_PAYLOAD => Err(ProtocolError::InvalidLength(length as usize)),
            _ => Ok(()),
        }
    }

    fn to_message(frame: Frame) -> Result<Message, ProtocolError> {
        Ok(match frame {
            Frame::Text(data) => {
                Message::Text(ByteString::try_from(data).map_err(|e| ProtocolError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))?)
            }
            Frame::Binary(data) => Message::Binary(data),
            Frame::Continuation(item) => Message::Continuation(item),
            Frame::Ping(data) => Message::Ping(data),
            Frame::Pong(data) => Message::Pong(data),
            Frame::Close(reason) => Message::Close(reason),
        })
    }

    /// Counts a fragment of a message toward the charge; the last one ends it.
    fn track_fragments(&mut self, message: &Message) {
        match message {
            Message::Continuation(Item::FirstText(bytes) | Item::FirstBinary(bytes)) => self.fragment_bytes = Some(bytes.len()),
            Message::Continuation(Item::Continue(bytes)) => *self.fragment_bytes.get_or_insert(0) += bytes.len(),
            Message::Continuation(Item::Last(_)) => self.fragment_bytes = None,
            _ => {}
        }
    }

    /// Waiting for bytes: an incomplete frame or message ends the read once its deadline passes.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, ProtocolError>>> {
        if !self.incomplete() {
            return Poll::Pending;
        }
        let receive_deadline = self.receive_deadline;
        let deadline = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(receive_deadline)));
        if deadline.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let why = format!("frame not completed within {:.1} s", receive_deadline.as_secs_f64());
        Poll::Ready(Some(Err(ProtocolError::Io(io::Error::new(io::ErrorKind::TimedOut, why)))))
    }

    /// A frame or message is incomplete: the client owes us bytes.
    fn incomplete(&self) -> bool {
        !self.buf.is_empty() || self.fragment_bytes.is_some()
    }
}

impl<S: Stream<Item = Result<Bytes, PayloadError>> + Unpin> Stream for FrameReader<S> {
    type Item = Result<Message, ProtocolError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.parked.is_some() && this.may_hand_over(cx) {
                let (message, _, read_at) = this.parked.take().expect("checked");
                this.update_charge();
                this.gate.set_frame_read_at(read_at);
                return Poll::Ready(Some(Ok(message)));
            }
            if let Err(error) = this.check_header() {
                return Poll::Ready(Some(Err(error)));
            }
            let next = this.buf.first().map(|&byte| NextFrame::of(byte));
            let may_read = match next {
                None => true,
                Some(NextFrame::Heartbeat) => true,
                Some(NextFrame::Close) => this.parked.is_none(),
                Some(NextFrame::Data) => this.may_take_data(cx),
            };
            if !may_read {
                // The client sent bytes we keep unread: it is not silent.
                this.gate.set_held_back(true);
                if this.parked.is_some() {
                    // Held back behind a frame the session cannot take yet: not its stall.
                    this.deadline = None;
                    return Poll::Pending;
                }
                // A frame still arriving, held back by the budget: partial frames may be what
                // spends it, so the deadline keeps running and they cannot hold it for good.
                return this.poll_deadline(cx);
            }
            this.gate.set_held_back(false);
            if next.is_some() {
                if let Some(frame) = this.codec.decode(&mut this.buf)? {
                    let message = Self::to_message(frame)?;
                    this.track_fragments(&message);
                    let is_data = next == Some(NextFrame::Data);
                    // The next frame's clock starts when we first wait for its bytes; a
                    // fragmented message keeps one clock for all its fragments.
                    if this.fragment_bytes.is_none() {
                        this.deadline = None;
                    }
                    let read_at = this.frame_read_at;
                    if this.buf.is_empty() {
                        this.frame_read_at = None;
                    }
                    let read_at = read_at.unwrap_or_else(Instant::now);
                    if is_data && !this.may_hand_over(cx) {
                        let size = payload_len(&message);
                        this.parked = Some((message, size, read_at));
                        this.update_charge();
                        continue;
                    }
                    this.update_charge();
                    this.gate.set_frame_read_at(read_at);
                    return Poll::Ready(Some(Ok(message)));
                }
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.payload).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.gate.bytes_read();
                    if this.buf.is_empty() {
                        this.frame_read_at = Some(Instant::now());
                    }
                    this.buf.extend_from_slice(&chunk);
                    this.update_charge();
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(ProtocolError::Io(io::Error::other(error.to_string()))))),
                Poll::Ready(None) => this.ended = true,
                Poll::Pending => return this.poll_deadline(cx),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_from_their_first_bytes() {
        assert_eq!(NextFrame::of(0x89), NextFrame::Heartbeat, "ping");
        assert_eq!(NextFrame::of(0x8A), NextFrame::Heartbeat, "pong");
        assert_eq!(NextFrame::of(0x88), NextFrame::Close);
        assert_eq!(NextFrame::of(0x81), NextFrame::Data, "text");
        assert_eq!(NextFrame::of(0x00), NextFrame::Data, "continuation");

        assert_eq!(announced_length(&[0x81]), None);
        assert_eq!(announced_length(&[0x81, 0x85]), Some((5, 6)), "masked: 2 + 4 header bytes");
        assert_eq!(announced_length(&[0x81, 0xFE, 0x01]), None, "the 16-bit length is not all there");
        assert_eq!(announced_length(&[0x81, 0xFE, 0x01, 0x00]), Some((256, 8)));
        let mut long = vec![0x81, 0xFF];
        long.extend_from_slice(&(1u64 << 20).to_be_bytes());
        assert_eq!(announced_length(&long), Some((1 << 20, 14)));
    }

    #[test]
    fn a_whole_frame_is_told_from_a_partial_one() {
        let mut frame = vec![0x81, 0x83, 0, 0, 0, 0, b'a', b'b'];
        assert!(!begins_with_whole_frame(&frame));
        frame.push(b'c');
        assert!(begins_with_whole_frame(&frame));
        frame.push(0x89);
        assert!(begins_with_whole_frame(&frame), "what follows it does not matter");
        assert!(!begins_with_whole_frame(&[0x81]));
    }
}
