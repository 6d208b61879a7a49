//! Producer settings and their translation into librdkafka properties.

use std::time::Duration;

use rdkafka::ClientConfig;

use crate::secret::Secret;

/// The codec of the record batches the producer writes. `None` by default: the
/// 0.3.0 ingestion workers (aiokafka without compression extras) read only
/// uncompressed and gzip batches, and fail on lz4 or zstd ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Lz4,
    Zstd,
}

impl Compression {
    pub const NAMES: &'static str = "none, gzip, lz4, zstd";

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "none" => Self::None,
            "gzip" => Self::Gzip,
            "lz4" => Self::Lz4,
            "zstd" => Self::Zstd,
            _ => return None,
        })
    }

    /// librdkafka's name for it (`compression.type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }
}

/// Everything the producer actor needs to know about the broker.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    pub topic: String,
    pub security_protocol: Option<String>,
    pub sasl_mechanism: Option<String>,
    pub sasl_username: Option<String>,
    pub sasl_password: Option<Secret>,
    /// How long librdkafka may try to deliver a record before it reports an
    /// error; below the client's 15 s wait so every frame gets an answer.
    pub message_timeout: Duration,
    pub linger: Duration,
    pub compression: Compression,
    /// librdkafka's `message.max.bytes`: the largest record it enqueues (key,
    /// value and framing), the limit the frame encoder checks every record against.
    pub max_record_bytes: usize,
    /// How often librdkafka reports its statistics (exported as metrics); zero: never.
    pub statistics_interval: Duration,
    /// Any other librdkafka property (`KAFKA_PROPERTY_*`), applied last.
    pub extra_properties: Vec<(String, Secret)>,
}

impl KafkaSettings {
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", "matyan-frontier")
            // An `ok` answer promises the records are durable and in order per run.
            .set("acks", "all")
            .set("enable.idempotence", "true")
            // A failure that could leave a gap in a partition's records is fatal
            // instead of letting later records through: the actor then replaces the
            // producer and republishes what was unanswered, in order.
            .set("enable.gapless.guarantee", "true")
            // Java-compatible murmur2, as the reference: a run keeps its partition across versions.
            .set("partitioner", "murmur2_random")
            .set("compression.type", self.compression.as_str())
            .set("message.max.bytes", self.max_record_bytes.to_string())
            .set("linger.ms", self.linger.as_millis().to_string())
            .set("message.timeout.ms", self.message_timeout.as_millis().to_string())
            // Bounded memory: when this fills up, sessions wait (backpressure).
            .set("queue.buffering.max.kbytes", "65536")
            .set("statistics.interval.ms", self.statistics_interval.as_millis().to_string());
        let optional = [
            ("security.protocol", &self.security_protocol),
            ("sasl.mechanism", &self.sasl_mechanism),
            ("sasl.username", &self.sasl_username),
            ("sasl.password", &self.sasl_password.as_ref().map(|p| p.expose().to_string())),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                config.set(key, value);
            }
        }
        for (key, value) in &self.extra_properties {
            config.set(key, value.expose());
        }
        // librdkafka refuses the guarantee without idempotence.
        if config.get("enable.idempotence") == Some("false") {
            config.remove("enable.gapless.guarantee");
        }
        config
    }
}
