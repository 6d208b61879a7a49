//! The broker, the topic and the producer's settings, with the librdkafka
//! properties passed through as `KAFKA_PROPERTY_<NAME>`.

use std::time::Duration;

use matyan_actors::kafka_producer::{Compression, KafkaSettings};
use matyan_actors::secret::Secret;

use super::{values, ConfigError, Problem};

/// Refused in production: it only ever names a developer's own broker.
pub const DEV_BOOTSTRAP: &str = "localhost:9092";
/// librdkafka properties pass through as `KAFKA_PROPERTY_LINGER_MS=20` → `linger.ms=20`.
pub const KAFKA_PROPERTY_PREFIX: &str = "KAFKA_PROPERTY_";
/// What the configuration table says about `KAFKA_PROPERTY_<NAME>`.
pub const KAFKA_PROPERTY_HELP: &str =
    "Any other librdkafka property, e.g. `KAFKA_PROPERTY_BATCH_SIZE=262144` sets `batch.size` (`_` → `.`, \
lower case), applied last. The codec and the delivery timeout are refused here: `KAFKA_COMPRESSION_TYPE` and \
`WS_ANSWER_DEADLINE_MS` set them; `message.max.bytes` follows `KAFKA_MAX_RECORD_BYTES` and is refused when it differs; \
`acks`, `enable.idempotence`, `enable.gapless.guarantee` and `partitioner` only as the producer sets them, unless \
`KAFKA_ALLOW_UNSAFE_OVERRIDES=true`.";

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Kafka")]
pub struct KafkaConfig {
    /// `host:port[,host:port…]`, ports 1–65535.
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS", value_name = "SERVERS", default_value = DEV_BOOTSTRAP, value_parser = bootstrap_servers)]
    pub kafka_bootstrap_servers: String,
    /// Topic of the run messages.
    #[arg(long, env = "KAFKA_DATA_INGESTION_TOPIC", value_name = "TOPIC", default_value = "data-ingestion", value_parser = values::non_empty)]
    pub kafka_data_ingestion_topic: String,
    /// librdkafka `security.protocol`: `SASL_PLAINTEXT`, `SASL_SSL` or `SSL`.
    #[arg(long, env = "KAFKA_SECURITY_PROTOCOL", value_name = "PROTOCOL")]
    pub kafka_security_protocol: Option<String>,
    /// librdkafka `sasl.mechanism`: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    #[arg(long, env = "KAFKA_SASL_MECHANISM", value_name = "MECHANISM")]
    pub kafka_sasl_mechanism: Option<String>,
    /// SASL user name.
    #[arg(long, env = "KAFKA_SASL_USERNAME", value_name = "USER")]
    pub kafka_sasl_username: Option<String>,
    /// SASL password; never logged.
    #[arg(long, env = "KAFKA_SASL_PASSWORD", value_name = "PASSWORD")]
    pub kafka_sasl_password: Option<String>,
    /// Codec of the record batches: `none`, `gzip`, `lz4` or `zstd`. Keep `none` or `gzip` while matyan-backend 0.3.0's
    /// ingestion workers consume the topic: they run aiokafka without its compression extras and fail on every lz4 or
    /// zstd batch (`UnsupportedCodecError`), so no run reaches storage. `lz4` and `zstd` only for consumers that read
    /// them (librdkafka, Java, aiokafka with `lz4` or `zstandard` installed).
    #[arg(long, env = "KAFKA_COMPRESSION_TYPE", value_name = "CODEC", default_value = "none", value_parser = compression)]
    pub kafka_compression_type: Compression,
    /// Producer batching delay, milliseconds (librdkafka still batches what accumulates while requests are in flight;
    /// 0 measured best).
    #[arg(long, env = "KAFKA_LINGER_MS", value_name = "MS", default_value = "0")]
    pub kafka_linger_ms: u64,
    /// Largest Kafka record, counted as librdkafka counts it: run id, value and 36 bytes of framing; librdkafka's
    /// `message.max.bytes` is set to it (1000–1000000000). A message whose record is larger is refused, and so is its
    /// whole frame: nothing of it is published. Keep it within the topic's `max.message.bytes`.
    #[arg(long, env = "KAFKA_MAX_RECORD_BYTES", value_name = "BYTES", default_value = "1000000", value_parser = record_limit)]
    pub kafka_max_record_bytes: usize,
    /// Bytes of accepted frames not yet acknowledged by Kafka, all connections together; when spent, no socket is read
    /// until acknowledgements free room. librdkafka's queue is as large.
    #[arg(long, env = "KAFKA_MAX_INFLIGHT_BYTES", value_name = "BYTES", default_value = "67108864", value_parser = values::at_least_one)]
    pub kafka_max_inflight_bytes: usize,
    /// Let `KAFKA_PROPERTY_*` weaken what an `ok` answer promises: `acks` other than `all` (`-1`),
    /// `enable.idempotence` or `enable.gapless.guarantee` off, a `partitioner` other than the reference's
    /// `murmur2_random`. Without it such a property stops the process at startup.
    #[arg(long, env = "KAFKA_ALLOW_UNSAFE_OVERRIDES", value_name = "BOOL", default_value = "false", action = clap::ArgAction::Set, value_parser = values::boolean)]
    pub kafka_allow_unsafe_overrides: bool,
    /// How often librdkafka reports its statistics, milliseconds; they become the `matyan_kafka_*` queue, round-trip,
    /// error, retry and batch metrics. 0 turns them off.
    #[arg(long, env = "KAFKA_STATISTICS_INTERVAL_MS", value_name = "MS", default_value = "5000", value_parser = statistics_interval)]
    pub kafka_statistics_interval_ms: u64,
    /// Replaced by `WS_ANSWER_DEADLINE_MS`; refused so that it is not silently ignored.
    #[arg(long, env = "KAFKA_MESSAGE_TIMEOUT_MS", hide = true, value_parser = replaced_by_answer_deadline)]
    pub kafka_message_timeout_ms: Option<Retired>,
}

/// A value of a variable that is refused; never built.
#[derive(Clone)]
pub enum Retired {}

fn replaced_by_answer_deadline(_: &str) -> Result<Retired, Problem> {
    Err(Problem::ReplacedByAnswerDeadline)
}

/// librdkafka's range for `message.max.bytes`, which follows this limit.
fn record_limit(value: &str) -> Result<usize, Problem> {
    values::in_range(value, 1000, 1_000_000_000, " bytes (librdkafka's range for message.max.bytes)").map(|n| n as usize)
}

/// librdkafka's range for `statistics.interval.ms`.
fn statistics_interval(value: &str) -> Result<u64, Problem> {
    values::in_range(value, 0, 86_400_000, " ms (librdkafka's range for statistics.interval.ms)")
}

fn compression(name: &str) -> Result<Compression, Problem> {
    Compression::parse(name).ok_or_else(|| Problem::NotOneOf {
        value: name.to_string(),
        accepted: format!("{} (the 0.3.0 workers read only none and gzip)", Compression::NAMES),
    })
}

fn bootstrap_servers(servers: &str) -> Result<String, Problem> {
    for server in servers.split(',') {
        let (host, port) = server.trim().rsplit_once(':').ok_or_else(|| Problem::NotHostPort(server.to_string()))?;
        if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(Problem::BadPort(server.to_string()));
        }
    }
    Ok(servers.to_string())
}

/// The `KAFKA_PROPERTY_*` variables as librdkafka properties, refusing the
/// ones this configuration sets itself.
pub fn properties(vars: &[(String, String)]) -> Result<Vec<(String, String)>, ConfigError> {
    let properties: Vec<(String, String)> = vars
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(KAFKA_PROPERTY_PREFIX).map(|name| (name.to_ascii_lowercase().replace('_', "."), v.clone())))
        .collect();
    for (key, _) in &properties {
        if key == "compression.type" || key == "compression.codec" {
            let problem = Problem::CodecAsProperty { property: key.clone(), accepted: Compression::NAMES };
            return Err(ConfigError::new("KAFKA_COMPRESSION_TYPE", problem));
        }
        if key == "message.timeout.ms" || key == "delivery.timeout.ms" {
            return Err(ConfigError::new("WS_ANSWER_DEADLINE_MS", Problem::DeadlineAsProperty(key.clone())));
        }
    }
    Ok(properties)
}

/// What a property would break, if its value weakens the promise of an `ok`
/// answer: the records are on every in-sync replica, once and in order per
/// run, on the partition the reference would choose. Values as librdkafka
/// reads them (names of enums and booleans in any case).
fn weakened_promise(property: &str, value: &str) -> Option<&'static str> {
    let value = value.trim().to_ascii_lowercase();
    let is_true = matches!(value.as_str(), "true" | "t" | "1");
    match property {
        "acks" | "request.required.acks" if !matches!(value.as_str(), "all" | "-1") => {
            Some("the acknowledgement by every in-sync replica that an `ok` answer waits for (acks=all)")
        }
        "enable.idempotence" if !is_true => Some("records written once and in order per run (enable.idempotence=true)"),
        "enable.gapless.guarantee" if !is_true => {
            Some("no gap in a run's records after a producer failure (enable.gapless.guarantee=true)")
        }
        "partitioner" if value != "murmur2_random" => Some("the reference's partition for each run (partitioner=murmur2_random)"),
        _ => None,
    }
}

/// The variable that sets `property`.
fn property_variable(property: &str) -> String {
    format!("{KAFKA_PROPERTY_PREFIX}{}", property.to_ascii_uppercase().replace('.', "_"))
}

impl KafkaConfig {
    /// `properties` from [`properties`]; librdkafka gives up on a record a second
    /// before the answer is due, so the answer names its error rather than only the deadline.
    pub fn settings(
        self,
        production: bool,
        answer_deadline: Duration,
        properties: Vec<(String, String)>,
    ) -> Result<KafkaSettings, ConfigError> {
        if production && self.kafka_bootstrap_servers == DEV_BOOTSTRAP {
            return Err(ConfigError::new("KAFKA_BOOTSTRAP_SERVERS", Problem::DevelopmentDefault(DEV_BOOTSTRAP)));
        }
        if !self.kafka_allow_unsafe_overrides {
            let weakening = properties.iter().find_map(|(key, value)| Some((key, value, weakened_promise(key, value)?)));
            if let Some((property, value, promise)) = weakening {
                let problem = Problem::UnsafeOverride { property: property.clone(), value: value.clone(), promise };
                return Err(ConfigError::new(&property_variable(property), problem));
            }
        }
        // Two limits that disagree refuse a frame record by record, after some of its records went out.
        let limit = self.kafka_max_record_bytes;
        if let Some((_, value)) = properties.iter().find(|(key, value)| key == "message.max.bytes" && value.trim().parse() != Ok(limit)) {
            return Err(ConfigError::new("KAFKA_MAX_RECORD_BYTES", Problem::RecordLimitDisagrees { limit, property: value.clone() }));
        }
        Ok(KafkaSettings {
            bootstrap_servers: self.kafka_bootstrap_servers,
            topic: self.kafka_data_ingestion_topic,
            security_protocol: self.kafka_security_protocol,
            sasl_mechanism: self.kafka_sasl_mechanism,
            sasl_username: self.kafka_sasl_username,
            sasl_password: self.kafka_sasl_password.map(Secret::from),
            message_timeout: answer_deadline - Duration::from_secs(1),
            linger: Duration::from_millis(self.kafka_linger_ms),
            compression: self.kafka_compression_type,
            max_record_bytes: limit,
            statistics_interval: Duration::from_millis(self.kafka_statistics_interval_ms),
            extra_properties: properties.into_iter().map(|(key, value)| (key, value.into())).collect(),
        })
    }
}
