//! Session metrics the dashboards use (names from PROTOCOL.md), plus frame results.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::protocol::MessageType;

#[derive(Clone)]
pub struct SessionMetrics {
    pub connections_active: IntGauge,
    pub connection_duration_seconds: Histogram,
    messages: [IntCounter; MessageType::ALL.len()],
    frames: [IntCounter; 4],
}

/// How a frame was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameResult {
    /// Every message is in Kafka.
    Ok,
    /// Refused before publishing (invalid, too large for Kafka, binary).
    Rejected,
    /// Valid, but Kafka did not acknowledge it.
    Failed,
    /// The client's resend of a frame still unanswered: not published again,
    /// answered once with the original.
    Resent,
}

impl SessionMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let connections_active = IntGauge::new("matyan_ws_connections_active", "Open WebSocket connections")?;
        let connection_duration_seconds = Histogram::with_opts(
            HistogramOpts::new("matyan_ws_connection_duration_seconds", "WebSocket connection lifetimes")
                .buckets(vec![1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0]),
        )?;
        let messages_vec = IntCounterVec::new(Opts::new("matyan_ws_messages_total", "Messages accepted, by type"), &["message_type"])?;
        let frames_vec = IntCounterVec::new(
            Opts::new(
                "matyan_ws_frames_total",
                "Frames answered, by result (ok, rejected, failed; resent: a resend absorbed by its unanswered original)",
            ),
            &["result"],
        )?;
        registry.register(Box::new(connections_active.clone()))?;
        registry.register(Box::new(connection_duration_seconds.clone()))?;
        registry.register(Box::new(messages_vec.clone()))?;
        registry.register(Box::new(frames_vec.clone()))?;
        let messages = MessageType::ALL.map(|t| messages_vec.with_label_values(&[t.as_str()]));
        let frames = ["ok", "rejected", "failed", "resent"].map(|result| frames_vec.with_label_values(&[result]));
        Ok(Self { connections_active, connection_duration_seconds, messages, frames })
    }

    pub fn message_accepted(&self, message_type: MessageType) {
        self.messages[message_type as usize].inc();
    }

    pub fn frame_answered(&self, result: FrameResult) {
        self.frames[result as usize].inc();
    }
}
