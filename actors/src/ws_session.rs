//! The WebSocket session actor: one per connection, i.e. per training run.
//!
//! Each text frame is validated whole and published as one request to the
//! producer actor; its answer is sent when the broker has acknowledged every
//! record. Frames may be pipelined: answers still leave in frame order.
//!
//! Backpressure (see [`crate::backpressure`]): the socket is not read while
//! this session's frames in flight are at their limit, or the process's bytes
//! in flight to Kafka are; pings are still answered then (see
//! [`crate::ws_reader`]).
//!
//! Heartbeat: the session pings its peer every `ping_interval` and closes a
//! connection that showed no sign of life within `pong_timeout` of a ping, so
//! dead peers give their place back.
//!
//! A close on the server's initiative (shutdown: 1001; maximum connection age
//! or a drain: 1012) loses nothing the client sent ([`Lifecycle`]): the Close
//! goes out in place of an answer, and
//! the frames the client sent before it saw it are still read and published,
//! until its own Close or the drain deadline.

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_http::ws::Item;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws::{self, CloseCode, CloseReason, ProtocolError};
use bytestring::ByteString;
use serde::Serialize;

use crate::backpressure::{InflightBudget, ReadGate};
use crate::connections::{CloseCause, ConnectionSlot, GoingAway};
use crate::kafka_producer::Publish;
use crate::metrics::{FrameResult, SessionMetrics};
use crate::protocol::{FrameEncoder, FrameLimits, KeyScope};
use crate::ws_reader::{is_stalled_frame, FrameReader};

/// Per-connection limits.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub frame: FrameLimits,
    /// Largest text frame, also when sent in fragments.
    pub max_frame_bytes: usize,
    /// Frames received but not yet answered; at this many, the socket is not read.
    pub max_frames_in_flight: usize,
    /// A frame Kafka has not acknowledged by then is answered with an error
    /// (and withdrawn if none of it has left the gateway yet).
    /// The stock client waits 15 s, resends the same frame, twice, and gives
    /// up for good at about 45 s: until just before that, a late `ok` loses
    /// nothing and an `error` loses the frame. librdkafka's own message
    /// timeout does not cover a request already sent to a broker that stalls.
    pub answer_deadline: Duration,
    /// How often the peer is pinged.
    pub ping_interval: Duration,
    /// A peer that shows no sign of life (any bytes, a pong included) this long after a ping is closed.
    pub pong_timeout: Duration,
    /// A frame, or a fragmented message, not complete this long after it began closes the connection.
    pub frame_receive_deadline: Duration,
    /// How long a closing session waits for the client's next frame before it
    /// sends its Close; then how long it still reads frames, waiting for the client's Close.
    pub close_drain_deadline: Duration,
    /// A connection this old (±[`MAX_AGE_JITTER`]) is closed with 1012, losslessly, so that
    /// long-lived connections spread over replicas added since; `None`: never.
    pub max_connection_age: Option<Duration>,
}

/// A fleet's connections, opened together, would all close together at their maximum age.
pub const MAX_AGE_JITTER: f64 = 0.1;

/// `age` moved by up to ±[`MAX_AGE_JITTER`] of it, differently for each connection.
fn jittered(age: Duration, connection: u64) -> Duration {
    // A randomly keyed hash of the connection's id: uniform enough, and no random-number crate.
    let unit = RandomState::new().hash_one(connection) as f64 / u64::MAX as f64;
    age.mul_f64(1.0 + MAX_AGE_JITTER * (2.0 * unit - 1.0))
}

/// The answer to one frame, as the client expects it.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct FrameAnswer {
    status: &'static str,
    error: Option<String>,
}

impl FrameAnswer {
    fn ok() -> Self {
        Self { status: "ok", error: None }
    }

    fn error(why: impl Into<String>) -> Self {
        Self { status: "error", error: Some(why.into()) }
    }
}

/// The stock client resends a frame after waiting 15 s for its answer. An
/// identical frame read this long after its original can be that resend; the
/// margin covers an original that waited in the socket before we read it.
/// One read sooner is a new frame, pipelined, and gets its own answer.
const RESEND_MIN_AGE: Duration = Duration::from_secs(10);
/// How long after its original's answer left a resend can still be one that
/// crossed it (the client sleeps 0.1 s between its timeout and the resend).
const RESEND_CROSSING: Duration = Duration::from_secs(1);

/// A frame being published, kept to recognise the client's resend of it.
struct PublishedFrame {
    text: ByteString,
    received: Instant,
}

/// One frame's turn in the answer order.
struct Slot {
    answer: Option<FrameAnswer>,
    published: Option<PublishedFrame>,
    /// Resends of it absorbed so far.
    resends: usize,
}

/// Answers in frame order: a slot per frame, filled as results arrive.
#[derive(Default)]
struct AnswerQueue {
    first_seq: u64,
    slots: VecDeque<Slot>,
    /// Resends absorbed by the slots: they count against the in-flight limit
    /// like any frame, so a client repeating a frame cannot make us read without bound.
    resends: usize,
    /// The last published frame answered, and when its answer left.
    last_answered: Option<(PublishedFrame, Instant)>,
}

impl AnswerQueue {
    /// A turn for a frame; `published` when it is published, so a resend of it can be recognised.
    fn reserve(&mut self, published: Option<PublishedFrame>) -> u64 {
        self.slots.push_back(Slot { answer: None, published, resends: 0 });
        self.first_seq + self.slots.len() as u64 - 1
    }

    /// Is this frame a resend? The stock client sends the identical frame
    /// again when it has waited 15 s for an answer. A resend of a frame still
    /// unanswered is absorbed by the original's slot: one publication, one
    /// answer. So is one that crossed its original's answer on the wire (the
    /// answer left just after the client's timeout): the client takes that
    /// answer for the resend, and answering again would put every later answer
    /// one frame behind. Only a frame read at least [`RESEND_MIN_AGE`] after
    /// its original is taken for a resend: every frame gets one answer.
    fn absorb_resend(&mut self, text: &str, now: Instant) -> bool {
        let resends = |p: &PublishedFrame| p.text == text && now.duration_since(p.received) >= RESEND_MIN_AGE;
        if let Some(original) = self.slots.iter_mut().find(|slot| slot.published.as_ref().is_some_and(resends)) {
            original.resends += 1;
            self.resends += 1;
            return true;
        }
        let crossed = self
            .last_answered
            .as_ref()
            .is_some_and(|(original, answered)| resends(original) && now.duration_since(*answered) < RESEND_CROSSING);
        if crossed {
            self.last_answered = None;
        }
        crossed
    }

    fn fill(&mut self, seq: u64, answer: FrameAnswer) {
        if let Some(slot) = self.slots.get_mut((seq - self.first_seq) as usize) {
            slot.answer = Some(answer);
        }
    }

    /// The answers that can leave now, oldest first.
    fn pop_ready(&mut self, now: Instant) -> Option<FrameAnswer> {
        let answer = self.slots.front_mut()?.answer.take()?;
        let slot = self.slots.pop_front()?;
        self.resends -= slot.resends;
        self.first_seq += 1;
        // A resend it absorbed takes this answer: none is left to cross.
        self.last_answered = slot.published.filter(|_| slot.resends == 0).map(|published| (published, now));
        Some(answer)
    }

    /// Frames received and not yet answered, absorbed resends included.
    fn len(&self) -> usize {
        self.slots.len() + self.resends
    }
}

/// Where a session is in a close the server starts (shutdown, maximum age, drain):
/// `Open` → `Finishing` → `Draining` → `Drained`.
///
/// The stock client drops the batch it is waiting on when a Close comes, and
/// cannot send once it has seen one. So the Close must come while it waits on
/// a frame we have read, never between an answer and its next frame (that
/// batch would be lost unsent): it goes out in place of the answer to the
/// next frame read. That frame, and those that still arrive, are published
/// but not answered (RFC 6455: no data after a Close; the client discards
/// it): the client logs the batch as dropped, yet it is in Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    /// Frames are read and answered.
    Open,
    /// Going away: the next frame read gets the Close instead of an answer,
    /// or the drain deadline does if none comes. Answers leave meanwhile.
    Finishing(CloseCause),
    /// Close sent: frames are read and published, until the client's Close or the drain deadline.
    Draining,
    /// Nothing more is read; the session stops once its frames are acknowledged.
    Drained,
}

impl Lifecycle {
    fn close_sent(self) -> bool {
        matches!(self, Self::Draining | Self::Drained)
    }
}

pub struct WsSession {
    run_id: Arc<str>,
    encoder: FrameEncoder,
    /// The Kafka producer actor, or a fake one in the gateway's in-process tests.
    producer: Recipient<Publish>,
    limits: SessionLimits,
    metrics: SessionMetrics,
    slot: ConnectionSlot,
    answers: AnswerQueue,
    gate: ReadGate,
    /// A text message arriving in fragments.
    fragments: Option<Vec<u8>>,
    lifecycle: Lifecycle,
    opened_at: Instant,
}

impl WsSession {
    pub fn new(
        run_id: &str,
        producer: Recipient<Publish>,
        limits: SessionLimits,
        budget: Arc<InflightBudget>,
        metrics: SessionMetrics,
        slot: ConnectionSlot,
    ) -> Self {
        Self {
            run_id: run_id.into(),
            encoder: FrameEncoder::new(run_id, limits.frame),
            producer,
            limits,
            metrics,
            slot,
            answers: AnswerQueue::default(),
            gate: ReadGate::new(budget),
            fragments: None,
            lifecycle: Lifecycle::Open,
            opened_at: Instant::now(),
        }
    }

    /// This session, letting its messages name only the object keys `scope`
    /// allows (the run's own when authentication is on).
    pub fn with_key_scope(self, scope: KeyScope) -> Self {
        Self { encoder: self.encoder.with_key_scope(scope), ..self }
    }

    /// Completes the WebSocket upgrade and runs the session on the connection,
    /// reading the socket through the session's [`FrameReader`].
    pub fn start(self, req: &HttpRequest, payload: web::Payload) -> actix_web::Result<HttpResponse> {
        let mut response = ws::handshake(req)?;
        let limits = self.limits;
        let reader = FrameReader::new(payload, self.gate.clone(), limits.max_frame_bytes, limits.frame_receive_deadline);
        // The context's own decoder gets no bytes: the reader decodes, so it can read pings past held-back data.
        let context = ws::WebsocketContext::with_factory(NoBytes, move |ctx| {
            ctx.add_stream(reader);
            self
        });
        Ok(response.streaming(context))
    }

    /// Pings the peer, and closes the connection if it shows no sign of life within the pong timeout.
    fn heartbeat(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let pinged = Instant::now();
        ctx.ping(b"");
        ctx.run_later(self.limits.pong_timeout, move |act, ctx| {
            if !act.gate.alive_since(pinged) {
                let why = format!("no sign of life within {:.1} s of a ping", act.limits.pong_timeout.as_secs_f64());
                log::info!("conn={} run={} {why}: closing", act.slot.id, act.run_id);
                act.close(CloseCode::Error, why, ctx);
            }
        });
    }

    fn on_frame(&mut self, text: ByteString, ctx: &mut ws::WebsocketContext<Self>) {
        if let Lifecycle::Finishing(cause) = self.lifecycle {
            self.send_close(cause, ctx);
        }
        // When it was read, not when we take it: a resend read 15 s after its
        // original is recognised even if backpressure handed both over together.
        let now = self.gate.frame_read_at();
        if self.answers.absorb_resend(&text, now) {
            // The client's resend after its 15 s wait: published once, answered once,
            // so the client's answers stay in step with its frames.
            log::info!("conn={} run={} frame resent while unanswered: not published again", self.slot.id, self.run_id);
            self.metrics.frame_answered(FrameResult::Resent, now);
            return self.update_gate();
        }
        let frame = match self.encoder.encode(&text, chrono::Utc::now()) {
            Ok(frame) => frame,
            Err(error) => return self.refuse(error.to_string(), ctx),
        };
        if frame.is_empty() {
            let seq = self.answers.reserve(None);
            self.metrics.frame_answered(FrameResult::Ok, now);
            return self.settle(seq, FrameAnswer::ok(), ctx);
        }
        let seq = self.answers.reserve(Some(PublishedFrame { text, received: now }));
        for (message_type, _) in frame.iter() {
            self.metrics.message_accepted(message_type);
        }
        let permit = self.gate.budget().reserve(frame.byte_len());
        self.update_gate();
        let (publish, published) = Publish::new(Arc::clone(&self.run_id), frame, permit);
        // Not `send`: on a full mailbox it defers the request, and deferred
        // requests can reach the producer out of frame order.
        self.producer.do_send(publish);
        let acked = published.acked_within(self.limits.answer_deadline);
        ctx.spawn(acked.into_actor(self).map(move |result, act, ctx| {
            let (answer, outcome) = match result {
                Ok(()) => (FrameAnswer::ok(), FrameResult::Ok),
                Err(error) => {
                    log::warn!("conn={} run={} frame not acknowledged: {error}", act.slot.id, act.run_id);
                    (FrameAnswer::error(error.to_string()), FrameResult::Failed)
                }
            };
            act.metrics.frame_answered(outcome, now);
            act.settle(seq, answer, ctx);
        }));
    }

    /// Answers a frame with an error without publishing anything; it still
    /// takes its turn, so answers stay in frame order.
    fn refuse(&mut self, why: String, ctx: &mut ws::WebsocketContext<Self>) {
        log::info!("conn={} run={} frame rejected: {why}", self.slot.id, self.run_id);
        self.metrics.frame_answered(FrameResult::Rejected, self.gate.frame_read_at());
        let seq = self.answers.reserve(None);
        self.settle(seq, FrameAnswer::error(why), ctx);
    }

    fn settle(&mut self, seq: u64, answer: FrameAnswer, ctx: &mut ws::WebsocketContext<Self>) {
        self.answers.fill(seq, answer);
        let now = Instant::now();
        while let Some(ready) = self.answers.pop_ready(now) {
            if self.lifecycle.close_sent() {
                log::info!("conn={} run={} frame settled after our Close, not answered: {}", self.slot.id, self.run_id, ready.status);
            } else {
                ctx.text(serde_json::to_string(&ready).expect("answers always serialise"));
            }
        }
        self.update_gate();
        self.close_if_done(ctx);
    }

    /// Reads on while there is room for frames, until the drain is over.
    fn update_gate(&self) {
        self.gate.set_open(self.lifecycle != Lifecycle::Drained && self.answers.len() < self.limits.max_frames_in_flight);
    }

    fn close(&mut self, code: CloseCode, why: String, ctx: &mut ws::WebsocketContext<Self>) {
        if self.lifecycle.close_sent() {
            // Our Close is out (a client leaving shows as an I/O error here):
            // what was read is still published before the session stops.
            return self.end_drain(ctx);
        }
        ctx.close(Some(CloseReason { code, description: Some(why) }));
        ctx.stop();
    }

    /// Starts the lossless close; a session already closing keeps its cause.
    fn going_away(&mut self, cause: CloseCause, ctx: &mut ws::WebsocketContext<Self>) {
        if self.lifecycle == Lifecycle::Open {
            self.lifecycle = Lifecycle::Finishing(cause);
            ctx.run_later(self.limits.close_drain_deadline, |act, ctx| {
                if let Lifecycle::Finishing(cause) = act.lifecycle {
                    act.send_close(cause, ctx);
                }
            });
        }
    }

    fn send_close(&mut self, cause: CloseCause, ctx: &mut ws::WebsocketContext<Self>) {
        let (code, why) = match cause {
            CloseCause::Shutdown => (CloseCode::Away, "server shutting down"),
            CloseCause::Rebalance => (CloseCode::Restart, "reconnect: rebalancing connections over replicas"),
        };
        ctx.close(Some(CloseReason { code, description: Some(why.into()) }));
        self.lifecycle = Lifecycle::Draining;
        ctx.run_later(self.limits.close_drain_deadline, |act, ctx| act.end_drain(ctx));
    }

    /// Once drained, the session stops when its last frame is acknowledged.
    fn close_if_done(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if self.lifecycle == Lifecycle::Drained && self.answers.len() == 0 {
            ctx.stop();
        }
    }

    /// After our Close: the client's Close came, its stream ended, or the drain deadline passed.
    fn end_drain(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        self.lifecycle = Lifecycle::Drained;
        self.update_gate();
        self.close_if_done(ctx);
    }

    fn on_fragment(&mut self, item: Item, ctx: &mut ws::WebsocketContext<Self>) {
        let (bytes, last) = match item {
            Item::FirstText(bytes) => {
                self.fragments = Some(Vec::new());
                (bytes, false)
            }
            Item::FirstBinary(_) => return self.refuse_binary(ctx),
            Item::Continue(bytes) => (bytes, false),
            Item::Last(bytes) => (bytes, true),
        };
        let Some(buffer) = self.fragments.as_mut() else { return };
        if buffer.len() + bytes.len() > self.limits.max_frame_bytes {
            // As the codec does for a single frame over the limit.
            self.fragments = None;
            return self.close(CloseCode::Size, format!("message larger than {} bytes", self.limits.max_frame_bytes), ctx);
        }
        buffer.extend_from_slice(&bytes);
        if last {
            let buffer = self.fragments.take().unwrap_or_default();
            match String::from_utf8(buffer) {
                Ok(text) => self.on_frame(text.into(), ctx),
                Err(_) => self.refuse("frame is not valid UTF-8".into(), ctx),
            }
        }
    }

    fn refuse_binary(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        self.refuse("binary frames are not supported: send JSON text frames".into(), ctx);
    }
}

impl Actor for WsSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.slot.attach(ctx.address().recipient());
        ctx.run_interval(self.limits.ping_interval, Self::heartbeat);
        if let Some(age) = self.limits.max_connection_age {
            ctx.run_later(jittered(age, self.slot.id), |act, ctx| {
                log::info!("conn={} run={} reached its maximum age: closing (1012)", act.slot.id, act.run_id);
                act.going_away(CloseCause::Rebalance, ctx);
            });
        }
        self.metrics.connections_active.inc();
        log::info!("conn={} run={} connected", self.slot.id, self.run_id);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.metrics.connections_active.dec();
        self.metrics.connection_duration_seconds.observe(self.opened_at.elapsed().as_secs_f64());
        log::info!("conn={} run={} disconnected after {:.1}s", self.slot.id, self.run_id, self.opened_at.elapsed().as_secs_f64());
    }
}

impl StreamHandler<Result<ws::Message, ProtocolError>> for WsSession {
    fn handle(&mut self, item: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
        match item {
            Ok(ws::Message::Text(text)) => self.on_frame(text, ctx),
            Ok(ws::Message::Binary(_)) => self.refuse_binary(ctx),
            Ok(ws::Message::Continuation(item)) => self.on_fragment(item, ctx),
            Ok(ws::Message::Ping(bytes)) => ctx.pong(&bytes),
            Ok(ws::Message::Pong(_) | ws::Message::Nop) => {}
            Ok(ws::Message::Close(reason)) if !self.lifecycle.close_sent() => {
                ctx.close(reason);
                ctx.stop();
            }
            Ok(ws::Message::Close(_)) => self.end_drain(ctx),
            Err(error) => {
                log::info!("conn={} run={} protocol error: {error}", self.slot.id, self.run_id);
                let code = match error {
                    ProtocolError::Overflow => CloseCode::Size,
                    ref stalled if is_stalled_frame(stalled) => CloseCode::Policy,
                    _ => CloseCode::Protocol,
                };
                self.close(code, error.to_string(), ctx);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        if self.lifecycle.close_sent() {
            // What the client sent is published even if it left without its
            // Close: actix drops a publish whose session stopped before the
            // producer took it.
            self.end_drain(ctx);
        } else {
            ctx.stop();
        }
    }
}

impl Handler<GoingAway> for WsSession {
    type Result = ();

    fn handle(&mut self, GoingAway(cause): GoingAway, ctx: &mut Self::Context) {
        self.going_away(cause, ctx);
    }
}

/// The byte stream of the context's own decoder, which the [`FrameReader`] replaces: it never yields.
struct NoBytes;

impl futures_core::Stream for NoBytes {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_leave_in_frame_order() {
        let mut queue = AnswerQueue::default();
        let first = queue.reserve(None);
        let second = queue.reserve(None);
        queue.fill(second, FrameAnswer::error("bad"));
        let now = Instant::now();
        assert_eq!(queue.pop_ready(now), None, "the first frame is not answered yet");
        queue.fill(first, FrameAnswer::ok());
        assert_eq!(queue.pop_ready(now), Some(FrameAnswer::ok()));
        assert_eq!(queue.pop_ready(now), Some(FrameAnswer::error("bad")));
        assert_eq!(queue.len(), 0);
    }

    const FRAME: &str = r#"{"type":"add_tag","tag_name":"a"}"#;

    fn published(at: Instant) -> Option<PublishedFrame> {
        Some(PublishedFrame { text: ByteString::from_static(FRAME), received: at })
    }

    #[test]
    fn a_resend_is_recognised_while_its_frame_is_unanswered() {
        let (mut queue, t0) = (AnswerQueue::default(), Instant::now());
        let resent = t0 + Duration::from_millis(15_100);
        let seq = queue.reserve(published(t0));
        assert!(queue.absorb_resend(FRAME, resent));
        assert!(!queue.absorb_resend(r#"{"type":"add_tag", "tag_name":"a"}"#, resent), "byte-identical only");
        assert_eq!(queue.len(), 2, "a resend counts against the in-flight limit until its original is answered");
        queue.fill(seq, FrameAnswer::ok());
        assert!(queue.absorb_resend(FRAME, resent), "answered, but the answer has not left yet");
        assert_eq!(queue.pop_ready(resent), Some(FrameAnswer::ok()));
        assert_eq!(queue.pop_ready(resent), None, "one answer for the frame and its resends");
        assert_eq!(queue.len(), 0);
        assert!(!queue.absorb_resend(FRAME, resent + Duration::from_millis(100)), "sent again at once after its answer: a new frame");
    }

    #[test]
    fn identical_frames_pipelined_are_answered_one_by_one() {
        let (mut queue, t0) = (AnswerQueue::default(), Instant::now());
        queue.reserve(published(t0));
        let soon = t0 + Duration::from_millis(100);
        assert!(!queue.absorb_resend(FRAME, soon), "read 0.1 s after its twin: a frame of its own");
        assert!(!queue.absorb_resend(FRAME, t0 + RESEND_MIN_AGE - Duration::from_millis(1)));
        assert!(queue.absorb_resend(FRAME, t0 + RESEND_MIN_AGE), "as late as the stock client's resend");
    }

    #[test]
    fn a_resend_that_crossed_its_answer_is_absorbed_once() {
        let (mut queue, t0) = (AnswerQueue::default(), Instant::now());
        let seq = queue.reserve(published(t0));
        queue.fill(seq, FrameAnswer::ok());
        // The answer leaves at 15.05 s, just after the client gave up waiting; its resend arrives at 15.15 s.
        let answered = t0 + Duration::from_millis(15_050);
        assert_eq!(queue.pop_ready(answered), Some(FrameAnswer::ok()));
        assert!(queue.absorb_resend(FRAME, answered + Duration::from_millis(100)), "the client reads the answer as the resend's");
        assert!(!queue.absorb_resend(FRAME, answered + Duration::from_millis(200)), "only once");

        let seq = queue.reserve(published(t0));
        queue.fill(seq, FrameAnswer::ok());
        let answered = t0 + Duration::from_secs(16);
        queue.pop_ready(answered);
        assert!(!queue.absorb_resend(FRAME, answered + RESEND_CROSSING), "too long after the answer: a new frame");
    }

    #[test]
    fn max_age_jitter_stays_within_ten_percent() {
        let age = Duration::from_secs(100);
        let ages: Vec<_> = (0..1000).map(|id| jittered(age, id)).collect();
        assert!(ages.iter().all(|a| (Duration::from_secs(90)..=Duration::from_secs(110)).contains(a)));
        let early = ages.iter().filter(|a| **a < age).count();
        assert!((300..700).contains(&early), "about half close early: {early} of 1000");
    }

    #[test]
    fn answer_json_matches_the_protocol() {
        assert_eq!(serde_json::to_string(&FrameAnswer::ok()).unwrap(), r#"{"status":"ok","error":null}"#);
        assert_eq!(serde_json::to_string(&FrameAnswer::error("x")).unwrap(), r#"{"status":"error","error":"x"}"#);
    }
}
