//! Where the service listens (over TLS or not), what it logs, who may call it
//! from a browser, and how long it takes to stop.

use std::path::PathBuf;
use std::time::Duration;

use super::tls::ListenerTls;
use super::{values, ConfigError, Problem};

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Server")]
pub struct ServerConfig {
    /// `production` refuses the development defaults (`localhost:9092`, `http://localhost:9000`, `rustfsadmin`) and, for
    /// Azure, needs `AZURE_CONN_STR` or `AZURE_ACCOUNT_URL`; any other name is a development environment.
    #[arg(long, env = "MATYAN_ENVIRONMENT", value_name = "NAME")]
    pub matyan_environment: Option<String>,
    /// Read when `MATYAN_ENVIRONMENT` is unset.
    #[arg(long, env = "ENVIRONMENT", value_name = "NAME", default_value = "development")]
    pub environment: String,
    /// Least severe level logged.
    #[arg(long, env = "LOG_LEVEL", value_enum, ignore_case = true, default_value = "INFO")]
    pub log_level: LogLevel,
    /// Listen address.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Listen port.
    #[arg(long, env = "PORT", default_value = "53801")]
    pub port: u16,
    /// PEM certificate chain, the server's certificate first: with `TLS_KEY_FILE`, the listener serves HTTPS and
    /// `wss://` only. For operators who do not end TLS at an ingress or load balancer; unset, plain HTTP. Read once, at
    /// startup: a renewed certificate needs a restart.
    #[arg(long, env = "TLS_CERT_FILE", value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the certificate (PKCS#8, PKCS#1 or SEC1, unencrypted). One of the two without the other, an
    /// unreadable file, one without PEM, or a key that is not the certificate's is refused at startup.
    #[arg(long, env = "TLS_KEY_FILE", value_name = "FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// Serve `/metrics/`.
    #[arg(long, env = "METRICS_ENABLED", value_name = "BOOL", default_value = "true", action = clap::ArgAction::Set, value_parser = values::boolean)]
    pub metrics_enabled: bool,
    /// Origins browsers may call from: comma-separated, or a JSON list; `*` allows any.
    #[arg(
        long,
        env = "CORS_ORIGINS",
        value_name = "ORIGINS",
        default_value = "http://localhost:3000,http://localhost:8000,http://localhost:53800,http://127.0.0.1:53800",
        value_parser = origins
    )]
    pub cors_origins: Origins,
    /// Seconds the producer gets to flush at shutdown, once the sessions closed. The sessions get what their own
    /// deadlines need before that: `WS_ANSWER_DEADLINE_MS` + 2 x `WS_CLOSE_DRAIN_DEADLINE_MS` + 1 s. So shutdown takes
    /// at most those plus this plus 1 s: 51 s with the defaults, the least to give Kubernetes'
    /// `terminationGracePeriodSeconds` (its default 30 s cuts a shutdown that waits on a stalled broker). A second
    /// SIGTERM or SIGINT exits at once.
    #[arg(long, env = "SHUTDOWN_FLUSH_TIMEOUT", value_name = "SECONDS", default_value = "5.0", value_parser = values::seconds)]
    pub shutdown_flush_timeout: Duration,
}

impl ServerConfig {
    /// The environment's name, lower case.
    pub fn environment(&self) -> String {
        self.matyan_environment.as_deref().unwrap_or(&self.environment).to_ascii_lowercase()
    }

    /// The listener's TLS, when both of its files are set.
    pub fn listener_tls(&self) -> Result<Option<ListenerTls>, ConfigError> {
        ListenerTls::load(self.tls_cert_file.as_deref(), self.tls_key_file.as_deref())
    }
}

/// The names the reference service accepts (`WARN` and `TRACE` too).
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogLevel {
    #[value(name = "TRACE", hide = true)]
    Trace,
    #[value(name = "DEBUG")]
    Debug,
    #[value(name = "INFO")]
    Info,
    #[value(name = "WARNING", alias = "WARN")]
    Warning,
    #[value(name = "ERROR")]
    Error,
    #[value(name = "CRITICAL")]
    Critical,
}

impl LogLevel {
    pub fn filter(self) -> log::LevelFilter {
        match self {
            Self::Trace => log::LevelFilter::Trace,
            Self::Debug => log::LevelFilter::Debug,
            Self::Info => log::LevelFilter::Info,
            Self::Warning => log::LevelFilter::Warn,
            Self::Error | Self::Critical => log::LevelFilter::Error,
        }
    }
}

/// CORS origins; a newtype so that clap takes the list as one value.
#[derive(Clone, Debug, PartialEq)]
pub struct Origins(pub Vec<String>);

/// Comma-separated, or a JSON list as pydantic-settings reads it.
fn origins(value: &str) -> Result<Origins, Problem> {
    if value.trim_start().starts_with('[') {
        return serde_json::from_str(value).map(Origins).map_err(|e| Problem::NotJsonList(e.to_string()));
    }
    Ok(Origins(value.split(',').map(str::trim).filter(|o| !o.is_empty()).map(String::from).collect()))
}
