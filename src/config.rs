//! Configuration from the environment (and `.env`), validated at startup so a
//! bad value stops the process with a message naming the variable.

use std::time::Duration;

use matyan_actors::kafka_producer::{Compression, KafkaSettings};
use matyan_actors::presign::{AzureSettings, GcsSettings, S3Settings};
use matyan_actors::protocol::FrameLimits;
use matyan_actors::ws_session::SessionLimits;
use serde::Deserialize;

use crate::auth::Authenticator;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("{0}")]
    Env(#[from] envy::Error),
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { var, reason: reason.into() }
}

/// The variables as read, before validation; names follow PROTOCOL.md.
#[derive(Deserialize)]
struct Env {
    matyan_environment: Option<String>,
    environment: Option<String>,
    #[serde(default = "defaults::log_level")]
    log_level: String,
    #[serde(default = "defaults::host")]
    host: String,
    #[serde(default = "defaults::port")]
    port: u16,
    #[serde(default = "defaults::kafka_bootstrap_servers")]
    kafka_bootstrap_servers: String,
    #[serde(default = "defaults::kafka_data_ingestion_topic")]
    kafka_data_ingestion_topic: String,
    kafka_security_protocol: Option<String>,
    kafka_sasl_mechanism: Option<String>,
    kafka_sasl_username: Option<String>,
    kafka_sasl_password: Option<String>,
    #[serde(default = "defaults::ws_answer_deadline_ms")]
    ws_answer_deadline_ms: u64,
    /// Replaced by WS_ANSWER_DEADLINE_MS; refused so that it is not silently ignored.
    kafka_message_timeout_ms: Option<String>,
    #[serde(default = "defaults::kafka_linger_ms")]
    kafka_linger_ms: u64,
    #[serde(default = "defaults::kafka_max_record_bytes")]
    kafka_max_record_bytes: usize,
    kafka_compression_type: Option<String>,
    #[serde(default = "defaults::blob_backend_type")]
    blob_backend_type: String,
    #[serde(default = "defaults::s3_endpoint")]
    s3_endpoint: String,
    s3_public_endpoint: Option<String>,
    #[serde(default = "defaults::dev_credential")]
    s3_access_key: String,
    #[serde(default = "defaults::dev_credential")]
    s3_secret_key: String,
    #[serde(default = "defaults::bucket")]
    s3_bucket: String,
    #[serde(default = "defaults::s3_region")]
    s3_region: String,
    #[serde(default = "defaults::bucket")]
    gcs_bucket: String,
    #[serde(default = "defaults::bucket")]
    azure_container: String,
    azure_conn_str: Option<String>,
    azure_account_url: Option<String>,
    google_application_credentials: Option<String>,
    storage_emulator_host: Option<String>,
    #[serde(default = "defaults::s3_presign_expiry")]
    s3_presign_expiry: u64,
    #[serde(default = "defaults::shutdown_flush_timeout")]
    shutdown_flush_timeout: f64,
    #[serde(default = "defaults::metrics_enabled")]
    metrics_enabled: String,
    #[serde(default = "defaults::cors_origins")]
    cors_origins: String,
    #[serde(default = "defaults::ws_max_connections")]
    ws_max_connections: usize,
    #[serde(default = "defaults::ws_max_frame_bytes")]
    ws_max_frame_bytes: usize,
    #[serde(default = "defaults::ws_max_frames_in_flight")]
    ws_max_frames_in_flight: usize,
    #[serde(default = "defaults::kafka_max_inflight_bytes")]
    kafka_max_inflight_bytes: usize,
    auth_tokens: Option<String>,
    auth_tokens_file: Option<String>,
}

mod defaults {
    pub fn log_level() -> String {
        "INFO".into()
    }
    pub fn host() -> String {
        "0.0.0.0".into()
    }
    pub fn port() -> u16 {
        53801
    }
    pub fn kafka_bootstrap_servers() -> String {
        super::DEV_BOOTSTRAP.into()
    }
    pub fn kafka_data_ingestion_topic() -> String {
        "data-ingestion".into()
    }
    /// The stock client's patience: it waits 15 s for an answer, resends the
    /// same frame twice, and gives up for good at about 45 s. An `error` is
    /// final for it, so answer one only just before it would give up.
    pub fn ws_answer_deadline_ms() -> u64 {
        40_000
    }
    /// Measured on the benchmark: 0 beats 1 and 5 ms here even at full load, because
    /// librdkafka batches on its own while requests are in flight.
    pub fn kafka_linger_ms() -> u64 {
        0
    }
    pub fn kafka_max_record_bytes() -> usize {
        1_000_000
    }
    pub fn blob_backend_type() -> String {
        "s3".into()
    }
    pub fn s3_endpoint() -> String {
        super::DEV_S3_ENDPOINT.into()
    }
    pub fn dev_credential() -> String {
        super::DEV_CREDENTIAL.into()
    }
    pub fn bucket() -> String {
        "matyan-artifacts".into()
    }
    pub fn s3_region() -> String {
        "us-east-1".into()
    }
    pub fn s3_presign_expiry() -> u64 {
        3600
    }
    pub fn shutdown_flush_timeout() -> f64 {
        5.0
    }
    pub fn metrics_enabled() -> String {
        "true".into()
    }
    pub fn cors_origins() -> String {
        "http://localhost:3000,http://localhost:8000,http://localhost:53800,http://127.0.0.1:53800".into()
    }
    pub fn ws_max_connections() -> usize {
        20_000
    }
    pub fn ws_max_frame_bytes() -> usize {
        16 << 20
    }
    pub fn ws_max_frames_in_flight() -> usize {
        64
    }
    /// librdkafka's queue is as large (see `KafkaSettings`): sockets push back
    /// before records would wait in the producer's backlog.
    pub fn kafka_max_inflight_bytes() -> usize {
        64 << 20
    }
}

const DEV_BOOTSTRAP: &str = "localhost:9092";
const DEV_S3_ENDPOINT: &str = "http://localhost:9000";
const DEV_CREDENTIAL: &str = "rustfsadmin";
const DEV_AZURE_CONN_STR: &str = "UseDevelopmentStorage=true";
/// librdkafka properties pass through as `KAFKA_PROPERTY_LINGER_MS=20` → `linger.ms=20`.
pub const KAFKA_PROPERTY_PREFIX: &str = "KAFKA_PROPERTY_";
/// Answer deadline bounds: librdkafka needs a second of it; past 44 s the
/// stock client (3 sends x 15 s) has given up.
const MIN_ANSWER_DEADLINE_MS: u64 = 2_000;
const MAX_ANSWER_DEADLINE_MS: u64 = 44_000;
/// SigV4 presigned URLs live at most 7 days.
const MAX_PRESIGN_EXPIRY: u64 = 604_800;

#[derive(Debug, Clone)]
pub enum BlobSettings {
    S3(S3Settings),
    Gcs(GcsSettings),
    Azure(AzureSettings),
}

impl std::fmt::Display for BlobSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::S3(s3) => write!(f, "s3 bucket '{}' at {}", s3.bucket, s3.endpoint),
            Self::Gcs(gcs) => match &gcs.emulator_host {
                Some(emulator) => write!(f, "gcs bucket '{}' on the emulator at {emulator}", gcs.bucket),
                None => write!(f, "gcs bucket '{}'", gcs.bucket),
            },
            Self::Azure(azure) => match &azure.account_url {
                Some(url) if azure.conn_str.is_none() => write!(f, "azure container '{}' at {url} (user delegation SAS)", azure.container),
                _ => write!(f, "azure container '{}' (account key SAS)", azure.container),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub auth: Authenticator,
    pub environment: String,
    pub log_filter: log::LevelFilter,
    pub host: String,
    pub port: u16,
    pub kafka: KafkaSettings,
    pub blob: BlobSettings,
    pub presign_expiry: Duration,
    pub shutdown_flush_timeout: Duration,
    pub metrics_enabled: bool,
    pub cors_origins: Vec<String>,
    pub session: SessionLimits,
    /// Bytes of accepted frames not yet acknowledged by Kafka, all connections together.
    pub max_inflight_bytes: usize,
    pub max_connections: usize,
}

impl Settings {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        // Empty means unset, as for the reference.
        let vars: Vec<(String, String)> = vars.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
        let extra_properties = vars
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(KAFKA_PROPERTY_PREFIX).map(|name| (name.to_ascii_lowercase().replace('_', "."), v.clone())))
            .collect();
        let env: Env = envy::from_iter(vars)?;
        env.validate(extra_properties)
    }
}

impl Env {
    fn validate(self, extra_properties: Vec<(String, String)>) -> Result<Settings, ConfigError> {
        let compression = parse_compression(self.kafka_compression_type.as_deref(), &extra_properties)?;
        let environment = self.matyan_environment.or(self.environment).unwrap_or_else(|| "development".into()).to_ascii_lowercase();
        let production = environment == "production";
        let log_filter = parse_log_level(&self.log_level)?;
        validate_bootstrap(&self.kafka_bootstrap_servers)?;
        if self.kafka_data_ingestion_topic.trim().is_empty() {
            return Err(invalid("KAFKA_DATA_INGESTION_TOPIC", "must not be empty"));
        }
        if production && self.kafka_bootstrap_servers == DEV_BOOTSTRAP {
            return Err(invalid("KAFKA_BOOTSTRAP_SERVERS", "the development default localhost:9092 is refused in production"));
        }
        validate_url("S3_ENDPOINT", &self.s3_endpoint)?;
        if let Some(public) = &self.s3_public_endpoint {
            validate_url("S3_PUBLIC_ENDPOINT", public)?;
        }
        let blob = match self.blob_backend_type.to_ascii_lowercase().as_str() {
            "s3" => {
                non_empty("S3_BUCKET", &self.s3_bucket)?;
                if production {
                    if self.s3_endpoint == DEV_S3_ENDPOINT {
                        return Err(invalid("S3_ENDPOINT", "the development default http://localhost:9000 is refused in production"));
                    }
                    for (var, value) in [("S3_ACCESS_KEY", &self.s3_access_key), ("S3_SECRET_KEY", &self.s3_secret_key)] {
                        if value == DEV_CREDENTIAL {
                            return Err(invalid(var, "the development credential is refused in production"));
                        }
                    }
                }
                BlobSettings::S3(S3Settings {
                    endpoint: self.s3_endpoint,
                    public_endpoint: self.s3_public_endpoint,
                    access_key: self.s3_access_key,
                    secret_key: self.s3_secret_key,
                    bucket: self.s3_bucket,
                    region: self.s3_region,
                })
            }
            "gcs" => {
                non_empty("GCS_BUCKET", &self.gcs_bucket)?;
                if self.storage_emulator_host.is_none() && self.google_application_credentials.is_none() {
                    return Err(invalid(
                        "GOOGLE_APPLICATION_CREDENTIALS",
                        "gcs needs a service-account key file to sign URLs (or STORAGE_EMULATOR_HOST)",
                    ));
                }
                BlobSettings::Gcs(GcsSettings {
                    bucket: self.gcs_bucket,
                    credentials_file: self.google_application_credentials,
                    emulator_host: self.storage_emulator_host,
                })
            }
            "azure" => {
                non_empty("AZURE_CONTAINER", &self.azure_container)?;
                if let Some(url) = &self.azure_account_url {
                    validate_url("AZURE_ACCOUNT_URL", url)?;
                }
                let conn_str = match (&self.azure_conn_str, &self.azure_account_url) {
                    (None, None) if production => {
                        return Err(invalid("AZURE_CONN_STR", "production needs AZURE_CONN_STR or AZURE_ACCOUNT_URL"))
                    }
                    // Development default: the local Azurite emulator.
                    (None, None) => Some(DEV_AZURE_CONN_STR.to_string()),
                    (conn_str, _) => conn_str.clone(),
                };
                BlobSettings::Azure(AzureSettings { container: self.azure_container, conn_str, account_url: self.azure_account_url })
            }
            other => return Err(invalid("BLOB_BACKEND_TYPE", format!("'{other}' is not one of s3, gcs, azure"))),
        };
        if !(1..=MAX_PRESIGN_EXPIRY).contains(&self.s3_presign_expiry) {
            return Err(invalid("S3_PRESIGN_EXPIRY", format!("must be 1 to {MAX_PRESIGN_EXPIRY} seconds")));
        }
        if !self.shutdown_flush_timeout.is_finite() || self.shutdown_flush_timeout < 0.0 {
            return Err(invalid("SHUTDOWN_FLUSH_TIMEOUT", "must be a non-negative number of seconds"));
        }
        if self.kafka_message_timeout_ms.is_some() {
            return Err(invalid("KAFKA_MESSAGE_TIMEOUT_MS", "replaced by WS_ANSWER_DEADLINE_MS (librdkafka's timeout follows it)"));
        }
        if let Some((key, _)) = extra_properties.iter().find(|(key, _)| key == "message.timeout.ms" || key == "delivery.timeout.ms") {
            return Err(invalid(
                "WS_ANSWER_DEADLINE_MS",
                format!("set the deadline here, not through the librdkafka property '{key}': it follows the deadline"),
            ));
        }
        if !(MIN_ANSWER_DEADLINE_MS..=MAX_ANSWER_DEADLINE_MS).contains(&self.ws_answer_deadline_ms) {
            return Err(invalid(
                "WS_ANSWER_DEADLINE_MS",
                format!(
                    "must be {MIN_ANSWER_DEADLINE_MS} to {MAX_ANSWER_DEADLINE_MS}: the stock client gives up for good about 45 s after it sent a frame"
                ),
            ));
        }
        let answer_deadline = Duration::from_millis(self.ws_answer_deadline_ms);
        for (var, value) in [
            ("WS_MAX_CONNECTIONS", self.ws_max_connections),
            ("WS_MAX_FRAME_BYTES", self.ws_max_frame_bytes),
            ("WS_MAX_FRAMES_IN_FLIGHT", self.ws_max_frames_in_flight),
            ("KAFKA_MAX_INFLIGHT_BYTES", self.kafka_max_inflight_bytes),
        ] {
            if value == 0 {
                return Err(invalid(var, "must be at least 1"));
            }
        }
        let mut auth_entries = self.auth_tokens.unwrap_or_default();
        if let Some(path) = &self.auth_tokens_file {
            let file = std::fs::read_to_string(path).map_err(|e| invalid("AUTH_TOKENS_FILE", format!("cannot read {path}: {e}")))?;
            auth_entries = format!("{auth_entries}\n{file}");
        }
        Ok(Settings {
            auth: Authenticator::parse(&auth_entries),
            environment,
            log_filter,
            host: self.host,
            port: self.port,
            kafka: KafkaSettings {
                bootstrap_servers: self.kafka_bootstrap_servers,
                topic: self.kafka_data_ingestion_topic,
                security_protocol: self.kafka_security_protocol,
                sasl_mechanism: self.kafka_sasl_mechanism,
                sasl_username: self.kafka_sasl_username,
                sasl_password: self.kafka_sasl_password,
                message_timeout: librdkafka_message_timeout(answer_deadline),
                linger: Duration::from_millis(self.kafka_linger_ms),
                compression,
                extra_properties,
            },
            blob,
            presign_expiry: Duration::from_secs(self.s3_presign_expiry),
            shutdown_flush_timeout: Duration::from_secs_f64(self.shutdown_flush_timeout),
            metrics_enabled: parse_bool("METRICS_ENABLED", &self.metrics_enabled)?,
            cors_origins: parse_origins(&self.cors_origins)?,
            session: SessionLimits {
                frame: FrameLimits { max_record_bytes: self.kafka_max_record_bytes },
                max_frame_bytes: self.ws_max_frame_bytes,
                max_frames_in_flight: self.ws_max_frames_in_flight,
                answer_deadline,
            },
            max_inflight_bytes: self.kafka_max_inflight_bytes,
            max_connections: self.ws_max_connections,
        })
    }
}

/// librdkafka gives up on a record a second before the answer is due, so the
/// answer names its error rather than only the deadline.
fn librdkafka_message_timeout(answer_deadline: Duration) -> Duration {
    answer_deadline - Duration::from_secs(1)
}

fn non_empty(var: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(invalid(var, "must not be empty"));
    }
    Ok(())
}

fn parse_log_level(level: &str) -> Result<log::LevelFilter, ConfigError> {
    Ok(match level.to_ascii_uppercase().as_str() {
        "TRACE" => log::LevelFilter::Trace,
        "DEBUG" => log::LevelFilter::Debug,
        "INFO" => log::LevelFilter::Info,
        "WARN" | "WARNING" => log::LevelFilter::Warn,
        "ERROR" | "CRITICAL" => log::LevelFilter::Error,
        other => return Err(invalid("LOG_LEVEL", format!("'{other}' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"))),
    })
}

/// One place sets the codec: a pass-through `compression.type` (or its alias
/// `compression.codec`) would silently override it, so it is refused.
fn parse_compression(name: Option<&str>, extra_properties: &[(String, String)]) -> Result<Compression, ConfigError> {
    if let Some((key, _)) = extra_properties.iter().find(|(key, _)| key == "compression.type" || key == "compression.codec") {
        return Err(invalid(
            "KAFKA_COMPRESSION_TYPE",
            format!("set the codec here, not through the librdkafka property '{key}' (one of {})", Compression::NAMES),
        ));
    }
    match name {
        None => Ok(Compression::default()),
        Some(name) => Compression::parse(name).ok_or_else(|| {
            invalid(
                "KAFKA_COMPRESSION_TYPE",
                format!("'{name}' is not one of {} (the 0.3.0 workers read only none and gzip)", Compression::NAMES),
            )
        }),
    }
}

fn parse_bool(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(invalid(var, format!("'{other}' is not a boolean"))),
    }
}

/// Comma-separated, or a JSON list as pydantic-settings reads it.
fn parse_origins(value: &str) -> Result<Vec<String>, ConfigError> {
    if value.trim_start().starts_with('[') {
        return serde_json::from_str(value).map_err(|e| invalid("CORS_ORIGINS", format!("not a JSON list of strings: {e}")));
    }
    Ok(value.split(',').map(str::trim).filter(|o| !o.is_empty()).map(String::from).collect())
}

fn validate_bootstrap(servers: &str) -> Result<(), ConfigError> {
    for server in servers.split(',') {
        let (host, port) =
            server.trim().rsplit_once(':').ok_or_else(|| invalid("KAFKA_BOOTSTRAP_SERVERS", format!("'{server}' is not host:port")))?;
        if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(invalid("KAFKA_BOOTSTRAP_SERVERS", format!("'{server}' is not host:port with a port from 1 to 65535")));
        }
    }
    Ok(())
}

fn validate_url(var: &'static str, url: &str) -> Result<(), ConfigError> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    match rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default()) {
        Some(authority) if !authority.is_empty() && !authority.starts_with(':') => Ok(()),
        _ => Err(invalid(var, format!("'{url}' is not an http(s) URL with a host"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn error(vars: &[(&str, &str)]) -> String {
        settings(vars).expect_err("should be refused").to_string()
    }

    #[test]
    fn defaults_match_the_protocol() {
        let s = settings(&[]).unwrap();
        assert_eq!((s.host.as_str(), s.port, s.environment.as_str()), ("0.0.0.0", 53801, "development"));
        assert_eq!((s.kafka.bootstrap_servers.as_str(), s.kafka.topic.as_str()), ("localhost:9092", "data-ingestion"));
        assert_eq!((s.presign_expiry, s.shutdown_flush_timeout), (Duration::from_secs(3600), Duration::from_secs(5)));
        assert!(s.metrics_enabled);
        assert_eq!(s.cors_origins.len(), 4);
        assert_eq!((s.session.answer_deadline, s.max_inflight_bytes), (Duration::from_secs(40), 64 << 20));
        assert_eq!(s.kafka.message_timeout, Duration::from_secs(39), "librdkafka gives up a second before the answer is due");
        assert!(error(&[("WS_ANSWER_DEADLINE_MS", "45000")]).starts_with("WS_ANSWER_DEADLINE_MS: must be 2000 to 44000"));
        assert!(error(&[("KAFKA_MESSAGE_TIMEOUT_MS", "10000")]).starts_with("KAFKA_MESSAGE_TIMEOUT_MS: replaced by WS_ANSWER_DEADLINE_MS"));
        for property in ["KAFKA_PROPERTY_MESSAGE_TIMEOUT_MS", "KAFKA_PROPERTY_DELIVERY_TIMEOUT_MS"] {
            assert!(error(&[(property, "5000")]).starts_with("WS_ANSWER_DEADLINE_MS: set the deadline here"), "{property}");
        }
        let BlobSettings::S3(s3) = s.blob else { panic!("s3 is the default") };
        assert_eq!(
            (s3.endpoint.as_str(), s3.bucket.as_str(), s3.region.as_str()),
            ("http://localhost:9000", "matyan-artifacts", "us-east-1")
        );
    }

    #[test]
    fn invalid_values_name_their_variable() {
        assert_eq!(error(&[("KAFKA_BOOTSTRAP_SERVERS", "a:1,b")]), "KAFKA_BOOTSTRAP_SERVERS: 'b' is not host:port");
        assert!(error(&[("KAFKA_BOOTSTRAP_SERVERS", "a:0")]).starts_with("KAFKA_BOOTSTRAP_SERVERS:"));
        assert!(error(&[("KAFKA_BOOTSTRAP_SERVERS", "a:65536")]).starts_with("KAFKA_BOOTSTRAP_SERVERS:"));
        assert!(error(&[("S3_ENDPOINT", "localhost:9000")]).starts_with("S3_ENDPOINT:"));
        assert!(error(&[("S3_PUBLIC_ENDPOINT", "http://")]).starts_with("S3_PUBLIC_ENDPOINT:"));
        assert!(error(&[("BLOB_BACKEND_TYPE", "ftp")]).starts_with("BLOB_BACKEND_TYPE:"));
        assert!(error(&[("LOG_LEVEL", "LOUD")]).starts_with("LOG_LEVEL:"));
        assert!(error(&[("METRICS_ENABLED", "maybe")]).starts_with("METRICS_ENABLED:"));
        assert!(error(&[("PORT", "http")]).contains("PORT"));
        assert!(error(&[("S3_PRESIGN_EXPIRY", "0")]).starts_with("S3_PRESIGN_EXPIRY:"));
        assert!(error(&[("SHUTDOWN_FLUSH_TIMEOUT", "-1")]).starts_with("SHUTDOWN_FLUSH_TIMEOUT:"));
    }

    #[test]
    fn production_refuses_dev_defaults() {
        let prod = ("ENVIRONMENT", "production");
        assert!(error(&[prod]).starts_with("KAFKA_BOOTSTRAP_SERVERS:"));
        let kafka = ("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092");
        assert!(error(&[prod, kafka]).starts_with("S3_ENDPOINT:"));
        let s3 = ("S3_ENDPOINT", "https://s3.example.com");
        assert!(error(&[prod, kafka, s3]).starts_with("S3_ACCESS_KEY:"));
        assert!(settings(&[prod, kafka, s3, ("S3_ACCESS_KEY", "a"), ("S3_SECRET_KEY", "b")]).is_ok());
        assert!(error(&[("MATYAN_ENVIRONMENT", "production"), kafka, ("BLOB_BACKEND_TYPE", "azure")]).starts_with("AZURE_CONN_STR:"));
        assert!(settings(&[prod, kafka, ("BLOB_BACKEND_TYPE", "azure"), ("AZURE_ACCOUNT_URL", "https://a.blob.core.windows.net")]).is_ok());
    }

    #[test]
    fn records_are_uncompressed_unless_a_codec_is_chosen() {
        assert_eq!(settings(&[]).unwrap().kafka.compression, Compression::None, "what the 0.3.0 workers read");
        assert_eq!(settings(&[]).unwrap().kafka.client_config().get("compression.type"), Some("none"));
        let gzip = settings(&[("KAFKA_COMPRESSION_TYPE", "GZIP")]).unwrap();
        assert_eq!(gzip.kafka.client_config().get("compression.type"), Some("gzip"));
        assert_eq!(settings(&[("KAFKA_COMPRESSION_TYPE", "zstd")]).unwrap().kafka.compression, Compression::Zstd);
        assert!(error(&[("KAFKA_COMPRESSION_TYPE", "snappy")]).starts_with("KAFKA_COMPRESSION_TYPE: 'snappy' is not one of"));
        for property in ["KAFKA_PROPERTY_COMPRESSION_TYPE", "KAFKA_PROPERTY_COMPRESSION_CODEC"] {
            assert!(error(&[(property, "lz4")]).starts_with("KAFKA_COMPRESSION_TYPE: set the codec here"), "{property}");
        }
    }

    #[test]
    fn an_idempotent_producer_guarantees_no_gaps() {
        let config = settings(&[]).unwrap().kafka.client_config();
        assert_eq!((config.get("enable.idempotence"), config.get("enable.gapless.guarantee")), (Some("true"), Some("true")));
        let plain = settings(&[("KAFKA_PROPERTY_ENABLE_IDEMPOTENCE", "false")]).unwrap().kafka.client_config();
        assert_eq!(plain.get("enable.gapless.guarantee"), None, "librdkafka refuses it without idempotence");
    }

    #[test]
    fn lists_booleans_and_passthrough_properties() {
        let s = settings(&[
            ("CORS_ORIGINS", r#"["https://a", "https://b"]"#),
            ("METRICS_ENABLED", "False"),
            ("KAFKA_PROPERTY_BATCH_SIZE", "100"),
        ])
        .unwrap();
        assert_eq!(s.cors_origins, ["https://a", "https://b"]);
        assert!(!s.metrics_enabled);
        assert_eq!(s.kafka.extra_properties, [("batch.size".to_string(), "100".to_string())]);
        assert_eq!(settings(&[("CORS_ORIGINS", "https://a, https://b")]).unwrap().cors_origins, ["https://a", "https://b"]);
    }

    #[test]
    fn auth_tokens_from_variable_and_file() {
        assert!(!settings(&[]).unwrap().auth.enabled(), "off by default");
        let file = std::env::temp_dir().join(format!("matyan-tokens-{}", std::process::id()));
        std::fs::write(&file, "# team tokens\nfile-token:team-\n").unwrap();
        let s = settings(&[("AUTH_TOKENS", "a,b"), ("AUTH_TOKENS_FILE", file.to_str().unwrap())]).unwrap();
        assert_eq!(format!("{:?}", s.auth), "Authenticator(3 tokens)");
        assert!(error(&[("AUTH_TOKENS_FILE", "/nonexistent/tokens")]).starts_with("AUTH_TOKENS_FILE: cannot read"));
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn secrets_are_masked_in_debug_output() {
        let s = settings(&[("S3_SECRET_KEY", "s3cr3t"), ("KAFKA_SASL_PASSWORD", "hunter2"), ("AUTH_TOKENS", "tok3n")]).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("hunter2") && !shown.contains("tok3n"), "{shown}");
    }
}
