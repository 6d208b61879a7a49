//! The configuration: one typed source for every variable the service reads.
//!
//! Each section is a clap `Args` struct; each field is one variable, with its
//! name (`env`), default, parser and meaning (the doc comment). The same
//! declaration reads the environment (and `./.env`, and `start`'s flags, which
//! win), refuses bad values naming the variable, and writes `--help` and the
//! README's table ([`reference`]), so these cannot drift apart. An empty
//! variable counts as unset, as for the reference service.

mod auth;
mod azure;
mod blob;
mod error;
mod gcs;
mod kafka;
mod logging;
pub mod reference;
mod s3;
mod server;
mod tls;
mod values;
mod websocket;

use std::time::Duration;

use clap::{Args, FromArgMatches};
use matyan_actors::kafka_producer::KafkaSettings;
use matyan_actors::protocol::FrameLimits;
use matyan_actors::ws_session::SessionLimits;

pub use blob::BlobSettings;
pub use error::{ConfigError, Problem};
pub use tls::{ListenerTls, TlsProblem};

use crate::auth::Authenticator;

/// Every variable, by section; `start` takes it as its flags.
#[derive(Args, Clone)]
pub struct Config {
    #[command(flatten)]
    pub server: server::ServerConfig,
    #[command(flatten)]
    pub kafka: kafka::KafkaConfig,
    #[command(flatten)]
    pub websocket: websocket::WebSocketConfig,
    #[command(flatten)]
    pub blob: blob::BlobConfig,
    #[command(flatten)]
    pub auth: auth::AuthConfig,
    #[command(flatten)]
    pub logging: logging::LoggingConfig,
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub auth: Authenticator,
    pub environment: String,
    pub log_filter: log::LevelFilter,
    pub log_format: crate::logging::LogFormat,
    pub host: String,
    pub port: u16,
    /// TLS on the listener; `None` serves plain HTTP.
    pub tls: Option<ListenerTls>,
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
    /// How long a drain (SIGUSR1) takes to close every connection.
    pub drain_spread: Duration,
}

impl Settings {
    /// Checks what one value alone cannot show (production refuses the
    /// development defaults; the chosen backend's needs), and reads the
    /// `KAFKA_PROPERTY_*` variables of `vars`.
    pub fn new(config: Config, vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let Config { server, kafka, websocket, blob, auth, logging } = config;
        let environment = server.environment();
        let production = environment == "production";
        let tls = server.listener_tls()?;
        let properties = kafka::properties(vars)?;
        let session = SessionLimits {
            frame: FrameLimits { max_record_bytes: kafka.kafka_max_record_bytes },
            max_frame_bytes: websocket.ws_max_frame_bytes,
            max_frames_in_flight: websocket.ws_max_frames_in_flight,
            answer_deadline: websocket.ws_answer_deadline_ms,
            ping_interval: websocket.ws_ping_interval,
            pong_timeout: websocket.ws_pong_timeout,
            frame_receive_deadline: websocket.ws_frame_receive_deadline,
            close_drain_deadline: websocket.ws_close_drain_deadline_ms,
            max_connection_age: websocket.ws_max_connection_age,
        };
        let max_inflight_bytes = kafka.kafka_max_inflight_bytes;
        let presign_expiry = blob.s3_presign_expiry;
        Ok(Settings {
            kafka: kafka.settings(production, session.answer_deadline, properties)?,
            blob: blob.settings(production)?,
            auth: auth.authenticator()?,
            environment,
            log_filter: server.log_level.filter(),
            log_format: logging.log_format,
            host: server.host,
            port: server.port,
            tls,
            presign_expiry,
            shutdown_flush_timeout: server.shutdown_flush_timeout,
            metrics_enabled: server.metrics_enabled,
            cors_origins: server.cors_origins.0,
            session,
            max_inflight_bytes,
            max_connections: websocket.ws_max_connections,
            drain_spread: websocket.ws_drain_spread,
        })
    }

    /// Reads and validates `vars` as if they were the whole environment, and
    /// nothing else: no flags, no process environment.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = vars.into_iter().filter(|(_, value)| !value.trim().is_empty()).collect();
        // Each variable becomes its flag, which clap parses exactly as the variable.
        let mut flags = vec!["start".to_string()];
        let mut command = Config::augment_args(clap::Command::new("start")).mut_args(|arg| {
            let value = arg.get_env().and_then(|name| vars.iter().rev().find(|(var, _)| name == var.as_str()));
            if let (Some((_, value)), Some(long)) = (value, arg.get_long()) {
                flags.push(format!("--{long}={value}"));
            }
            arg.env(None)
        });
        let matches = command
            .try_get_matches_from_mut(flags)
            .map_err(|error| ConfigError::from_clap(&error).expect("flags made from the arguments themselves"))?;
        let config = Config::from_arg_matches(&matches).expect("matches of the same arguments");
        Self::new(config, &vars)
    }
}

/// The process environment without its empty variables, which count as unset.
pub fn process_vars() -> Vec<(String, String)> {
    std::env::vars().filter(|(_, value)| !value.trim().is_empty()).collect()
}

/// Empty variables count as unset: they are removed before clap reads the
/// environment. Call it while the process has one thread.
pub fn unset_empty_variables() {
    for arg in reference::variables() {
        if let Some(name) = arg.get_env() {
            if std::env::var_os(name).is_some_and(|value| value.to_string_lossy().trim().is_empty()) {
                std::env::remove_var(name);
            }
        }
    }
}

#[cfg(test)]
mod tests;
