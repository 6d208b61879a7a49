//! Limits of the WebSocket sessions, and when a frame is answered.

use std::time::Duration;

use super::{values, Problem};

/// Answer deadline bounds: librdkafka needs a second of it; past 44 s the
/// stock client (3 sends x 15 s) has given up.
const MIN_ANSWER_DEADLINE_MS: u64 = 2_000;
const MAX_ANSWER_DEADLINE_MS: u64 = 44_000;
/// The drain waits one round trip for the client's Close; longer only delays shutdown.
const MAX_CLOSE_DRAIN_DEADLINE_MS: u64 = 10_000;

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "WebSocket")]
pub struct WebSocketConfig {
    /// A frame Kafka has not acknowledged this many milliseconds after it arrived is answered `error`; librdkafka's
    /// `message.timeout.ms` is set 1 s below it. The stock client waits 15 s, resends the frame twice and gives up
    /// for good at about 45 s, and an `error` is final for it: so answer one only just before. Replaces
    /// `KAFKA_MESSAGE_TIMEOUT_MS`.
    #[arg(long, env = "WS_ANSWER_DEADLINE_MS", value_name = "MS", default_value = "40000", value_parser = answer_deadline)]
    pub ws_answer_deadline_ms: Duration,
    /// At shutdown a session sends its Close (1001) in place of the answer to the next frame it reads, or after this
    /// many milliseconds without one; then it still reads and publishes frames for at most as long, until the
    /// client's Close. Those frames are not answered (nothing may follow a Close): the stock client logs that batch as
    /// dropped, yet it is in Kafka.
    #[arg(long, env = "WS_CLOSE_DRAIN_DEADLINE_MS", value_name = "MS", default_value = "2000", value_parser = close_drain_deadline)]
    pub ws_close_drain_deadline_ms: Duration,
    /// Open WebSocket connections at most; more get 503 at the upgrade.
    #[arg(long, env = "WS_MAX_CONNECTIONS", value_name = "N", default_value = "20000", value_parser = values::at_least_one)]
    pub ws_max_connections: usize,
    /// Largest WebSocket frame, also when sent in fragments; a larger one closes the connection with 1009.
    #[arg(long, env = "WS_MAX_FRAME_BYTES", value_name = "BYTES", default_value = "16777216", value_parser = values::at_least_one)]
    pub ws_max_frame_bytes: usize,
    /// Unanswered frames per connection; at the limit its socket is not read until answers leave (TCP pushes back on
    /// the client).
    #[arg(long, env = "WS_MAX_FRAMES_IN_FLIGHT", value_name = "N", default_value = "64", value_parser = values::at_least_one)]
    pub ws_max_frames_in_flight: usize,
    /// Seconds between the pings the server sends each connection (uvicorn's `--ws-ping-interval`).
    #[arg(long, env = "WS_PING_INTERVAL", value_name = "SECONDS", default_value = "20.0", value_parser = positive_seconds)]
    pub ws_ping_interval: Duration,
    /// Seconds after a ping within which the peer must show a sign of life (any frame, a pong included), or the
    /// connection is closed with 1011 and its place freed; a dead peer is closed at most `WS_PING_INTERVAL` +
    /// `WS_PONG_TIMEOUT` after its last sign of life (uvicorn's `--ws-ping-timeout`).
    #[arg(long, env = "WS_PONG_TIMEOUT", value_name = "SECONDS", default_value = "20.0", value_parser = positive_seconds)]
    pub ws_pong_timeout: Duration,
    /// Seconds a frame, or a message sent in fragments, may take to arrive once begun (while the server reads the
    /// socket); past it the connection is closed with 1008.
    #[arg(long, env = "WS_FRAME_RECEIVE_DEADLINE", value_name = "SECONDS", default_value = "30.0", value_parser = positive_seconds)]
    pub ws_frame_receive_deadline: Duration,
    /// Seconds after which a connection is closed with 1012 (Service Restart), through the same lossless close as a
    /// shutdown, so that long-lived connections spread over replicas added since (an autoscaler's new pods would
    /// otherwise sit idle); each connection's age varies by ±10 % so a fleet's connections do not close together.
    /// The stock client reconnects at once. Unset: connections are never closed for their age.
    #[arg(long, env = "WS_MAX_CONNECTION_AGE", value_name = "SECONDS", value_parser = positive_seconds)]
    pub ws_max_connection_age: Option<Duration>,
    /// Seconds over which a drain (SIGUSR1) closes every open connection with 1012, one after the other, so their
    /// clients reconnect elsewhere gradually; readiness answers 503 meanwhile. 0 closes them all at once.
    #[arg(long, env = "WS_DRAIN_SPREAD", value_name = "SECONDS", default_value = "30.0", value_parser = values::seconds)]
    pub ws_drain_spread: Duration,
}

/// A duration that must not be zero: a timer of 0 s would fire at once, forever.
fn positive_seconds(value: &str) -> Result<Duration, Problem> {
    values::seconds(value).and_then(|seconds| if seconds.is_zero() { Err(Problem::NotPositiveSeconds) } else { Ok(seconds) })
}

fn answer_deadline(ms: &str) -> Result<Duration, Problem> {
    const WHY: &str = ": the stock client gives up for good about 45 s after it sent a frame";
    values::in_range(ms, MIN_ANSWER_DEADLINE_MS, MAX_ANSWER_DEADLINE_MS, WHY).map(Duration::from_millis)
}

fn close_drain_deadline(ms: &str) -> Result<Duration, Problem> {
    values::in_range(ms, 0, MAX_CLOSE_DRAIN_DEADLINE_MS, " ms: the client answers a Close within a round trip").map(Duration::from_millis)
}
