//! Limits of the WebSocket sessions, and when a frame is answered.

use std::time::Duration;

use super::{values, Problem};

/// Answer deadline bounds: librdkafka needs a second of it; past 44 s the
/// stock client (3 sends x 15 s) has given up.
const MIN_ANSWER_DEADLINE_MS: u64 = 2_000;
const MAX_ANSWER_DEADLINE_MS: u64 = 44_000;

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "WebSocket")]
pub struct WebSocketConfig {
    /// A frame Kafka has not acknowledged this many milliseconds after it arrived is answered `error`; librdkafka's
    /// `message.timeout.ms` is set 1 s below it. The stock client waits 15 s, resends the frame twice and gives up
    /// for good at about 45 s, and an `error` is final for it: so answer one only just before. Replaces
    /// `KAFKA_MESSAGE_TIMEOUT_MS`.
    #[arg(long, env = "WS_ANSWER_DEADLINE_MS", value_name = "MS", default_value = "40000", value_parser = answer_deadline)]
    pub ws_answer_deadline_ms: Duration,
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
}

fn answer_deadline(ms: &str) -> Result<Duration, Problem> {
    const WHY: &str = ": the stock client gives up for good about 45 s after it sent a frame";
    values::in_range(ms, MIN_ANSWER_DEADLINE_MS, MAX_ANSWER_DEADLINE_MS, WHY).map(Duration::from_millis)
}
