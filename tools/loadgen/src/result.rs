//! What one phase of the benchmark measured.

use std::fmt;
use std::time::Duration;

use crate::LoadShape;

/// What a phase drove: a gateway, the reference, or the raw producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// This tree's gateway.
    Ours,
    /// A second gateway binary (`--baseline`), e.g. a build of an earlier commit.
    Before,
    /// The Python matyan-frontier 0.3.0.
    Reference,
    /// A plain rdkafka producer in this process: the ceiling.
    RawProducer,
}

impl Subject {
    /// A name for topics.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Before => "before",
            Self::Reference => "reference",
            Self::RawProducer => "ceiling",
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ours => "ours",
            Self::Before => "before",
            Self::Reference => "reference (Python 0.3.0)",
            Self::RawProducer => "raw rdkafka (ceiling)",
        })
    }
}

/// Frame (or batch) round-trip times, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latencies {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
}

impl Latencies {
    pub fn from_micros(mut micros: Vec<u32>) -> Self {
        micros.sort_unstable();
        let quantile = |q: f64| match micros.len() {
            0 => 0.0,
            n => micros[((n - 1) as f64 * q).round() as usize] as f64 / 1000.0,
        };
        Self { p50: quantile(0.5), p99: quantile(0.99), p999: quantile(0.999) }
    }
}

/// One timed load against one subject.
#[derive(Debug, Clone)]
pub struct Phase {
    pub subject: Subject,
    pub shape: LoadShape,
    pub codec: &'static str,
    pub elapsed: Duration,
    pub acked_messages: u64,
    pub errors: u64,
    pub latency: Latencies,
    /// CPU time the subject spent during the phase (see the table's legend).
    pub cpu: Duration,
    /// The phase's records read back from its topic; `None` when not read back.
    pub records_in_kafka: Option<u64>,
}

impl Phase {
    pub fn messages_per_second(&self) -> f64 {
        self.acked_messages as f64 / self.elapsed.as_secs_f64()
    }

    pub fn cpu_micros_per_message(&self) -> Option<f64> {
        (self.acked_messages > 0).then(|| self.cpu.as_secs_f64() * 1e6 / self.acked_messages as f64)
    }

    pub fn cpu_cores(&self) -> f64 {
        self.cpu.as_secs_f64() / self.elapsed.as_secs_f64()
    }

    /// Something was acked, nothing failed, and Kafka holds exactly what was acked.
    pub fn is_correct(&self) -> bool {
        self.acked_messages > 0 && self.errors == 0 && self.records_in_kafka.is_none_or(|n| n == self.acked_messages)
    }
}

/// Connections held open without traffic: what each costs the gateway.
#[derive(Debug, Clone)]
pub struct Idle {
    pub subject: Subject,
    pub connections: usize,
    pub time_to_open: Duration,
    pub rss_kib_before: u64,
    pub rss_kib_after: u64,
}

impl Idle {
    pub fn rss_kib_per_connection(&self) -> f64 {
        self.rss_kib_after.saturating_sub(self.rss_kib_before) as f64 / self.connections as f64
    }
}
