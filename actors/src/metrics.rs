//! Session metrics the dashboards use (names from PROTOCOL.md), plus frame
//! results and answer latency; and the producer's own view from librdkafka's statistics.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use prometheus::{Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use rdkafka::statistics::Statistics;

use crate::protocol::MessageType;

#[derive(Clone)]
pub struct SessionMetrics {
    pub connections_active: IntGauge,
    pub connection_duration_seconds: Histogram,
    messages: [IntCounter; MessageType::ALL.len()],
    frames: [IntCounter; 4],
    /// Read to answer, for `ok` and for `error` answers.
    answer_latency: [Histogram; 2],
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
        let answer_latency_vec = HistogramVec::new(
            HistogramOpts::new("matyan_ws_answer_latency_seconds", "Time from reading a frame to its answer, by answer (ok, error)")
                // Up to and past the client's 15 s wait.
                .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0]),
            &["result"],
        )?;
        registry.register(Box::new(frames_vec.clone()))?;
        registry.register(Box::new(answer_latency_vec.clone()))?;
        let messages = MessageType::ALL.map(|t| messages_vec.with_label_values(&[t.as_str()]));
        let frames = ["ok", "rejected", "failed", "resent"].map(|result| frames_vec.with_label_values(&[result]));
        let answer_latency = ["ok", "error"].map(|result| answer_latency_vec.with_label_values(&[result]));
        Ok(Self { connections_active, connection_duration_seconds, messages, frames, answer_latency })
    }

    pub fn message_accepted(&self, message_type: MessageType) {
        self.messages[message_type as usize].inc();
    }

    /// Counts the answer of a frame read at `read_at`, and its latency; a
    /// resend gets no answer of its own, so no latency.
    pub fn frame_answered(&self, result: FrameResult, read_at: Instant) {
        self.frames[result as usize].inc();
        let answer = match result {
            FrameResult::Ok => 0,
            FrameResult::Rejected | FrameResult::Failed => 1,
            FrameResult::Resent => return,
        };
        self.answer_latency[answer].observe(read_at.elapsed().as_secs_f64());
    }
}

/// librdkafka's own view of the producer, from its periodic statistics: a
/// bounded set (one series per broker of the cluster at most).
#[derive(Clone)]
pub struct ProducerMetrics {
    topic: Arc<str>,
    queue_messages: IntGauge,
    queue_bytes: IntGauge,
    broker_rtt_seconds: GaugeVec,
    tx_errors: IntCounter,
    rx_errors: IntCounter,
    retries: IntCounter,
    batch_bytes: Gauge,
}

/// One producer's per-broker error and retry counts at its last statistics:
/// librdkafka reports totals, the counters take what is new since.
#[derive(Default)]
pub struct BrokerTotals(HashMap<String, [u64; 3]>);

impl ProducerMetrics {
    pub fn register(registry: &Registry, topic: &str) -> prometheus::Result<Self> {
        let queue_messages = IntGauge::new("matyan_kafka_producer_queue_messages", "Records in librdkafka's queue, not yet acknowledged")?;
        let queue_bytes = IntGauge::new("matyan_kafka_producer_queue_bytes", "Bytes of the records in librdkafka's queue")?;
        let broker_rtt_seconds = GaugeVec::new(
            Opts::new(
                "matyan_kafka_broker_rtt_seconds",
                "Broker request round-trip time over the last statistics interval, by broker id and quantile (0.5, 0.99)",
            ),
            &["broker", "quantile"],
        )?;
        let tx_errors = IntCounter::new("matyan_kafka_tx_errors_total", "Requests to brokers that failed to send")?;
        let rx_errors = IntCounter::new(
            "matyan_kafka_rx_errors_total",
            "Broker responses that failed (unparsable, or an error for the whole request)",
        )?;
        let retries = IntCounter::new("matyan_kafka_retries_total", "Requests to brokers sent again")?;
        let batch_bytes = Gauge::new(
            "matyan_kafka_batch_size_bytes",
            "Average size of the record batches sent, over the last statistics interval that sent any",
        )?;
        registry.register(Box::new(queue_messages.clone()))?;
        registry.register(Box::new(queue_bytes.clone()))?;
        registry.register(Box::new(broker_rtt_seconds.clone()))?;
        registry.register(Box::new(tx_errors.clone()))?;
        registry.register(Box::new(rx_errors.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(batch_bytes.clone()))?;
        let topic = topic.into();
        Ok(Self { topic, queue_messages, queue_bytes, broker_rtt_seconds, tx_errors, rx_errors, retries, batch_bytes })
    }

    /// Takes one statistics report of a producer whose previous totals are `seen`.
    pub fn observe(&self, stats: &Statistics, seen: &mut BrokerTotals) {
        self.queue_messages.set(stats.msg_cnt as i64);
        self.queue_bytes.set(stats.msg_size as i64);
        for broker in stats.brokers.values() {
            let totals = [broker.txerrs, broker.rxerrs, broker.txretries];
            let before = seen.0.insert(broker.name.clone(), totals).unwrap_or_default();
            for ((counter, now), before) in [&self.tx_errors, &self.rx_errors, &self.retries].into_iter().zip(totals).zip(before) {
                counter.inc_by(now.saturating_sub(before));
            }
            // Bootstrap entries (id -1) stand for an address, not a broker of the cluster.
            let Some(rtt) = broker.rtt.as_ref().filter(|rtt| broker.nodeid >= 0 && rtt.cnt > 0) else { continue };
            let id = broker.nodeid.to_string();
            for (quantile, micros) in [("0.5", rtt.p50), ("0.99", rtt.p99)] {
                self.broker_rtt_seconds.with_label_values(&[&id, quantile]).set(micros as f64 / 1e6);
            }
        }
        if let Some(batches) = stats.topics.get(&*self.topic).map(|topic| &topic.batchsize).filter(|b| b.cnt > 0) {
            self.batch_bytes.set(batches.avg as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::statistics::{Broker, Topic, Window};

    use super::*;

    fn broker(name: &str, nodeid: i32, errors: u64, rtt_micros: i64) -> Broker {
        let rtt = Window { cnt: 4, p50: rtt_micros, p99: 2 * rtt_micros, ..Window::default() };
        Broker { name: name.into(), nodeid, txerrs: errors, rxerrs: errors, txretries: errors, rtt: Some(rtt), ..Broker::default() }
    }

    #[test]
    fn statistics_become_bounded_series_and_counters_take_what_is_new() {
        let registry = Registry::new();
        let metrics = ProducerMetrics::register(&registry, "runs").unwrap();
        let mut seen = BrokerTotals::default();
        let mut stats = Statistics { msg_cnt: 3, msg_size: 700, ..Statistics::default() };
        // The bootstrap entry (id -1) is an address, not a broker: no series of its own.
        stats.brokers.insert("b:9092/bootstrap".into(), broker("b:9092/bootstrap", -1, 1, 9_000));
        stats.brokers.insert("b:9092/1".into(), broker("b:9092/1", 1, 2, 1_500));
        let batches = Window { cnt: 2, avg: 4096, ..Window::default() };
        stats.topics.insert("runs".into(), Topic { topic: "runs".into(), batchsize: batches, ..Topic::default() });
        metrics.observe(&stats, &mut seen);
        // librdkafka's totals again, one more error on broker 1: counted once.
        stats.brokers.get_mut("b:9092/1").unwrap().txerrs = 3;
        metrics.observe(&stats, &mut seen);

        assert_eq!((metrics.queue_messages.get(), metrics.queue_bytes.get()), (3, 700));
        assert_eq!((metrics.tx_errors.get(), metrics.rx_errors.get(), metrics.retries.get()), (4, 3, 3));
        assert_eq!(metrics.broker_rtt_seconds.with_label_values(&["1", "0.5"]).get(), 0.0015);
        assert_eq!(metrics.broker_rtt_seconds.with_label_values(&["1", "0.99"]).get(), 0.003);
        let families = registry.gather();
        let rtt = families.iter().find(|f| f.name() == "matyan_kafka_broker_rtt_seconds").unwrap();
        assert_eq!(rtt.get_metric().len(), 2, "broker 1's p50 and p99 only");
        assert_eq!(metrics.batch_bytes.get(), 4096.0);
    }
}
