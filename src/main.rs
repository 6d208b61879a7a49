//! `matyan-frontier`: the ingestion gateway between training clients and Kafka.

use clap::{Parser, Subcommand};
use matyan_frontier::config::Settings;
use matyan_frontier::{listen, Gateway, StartupError};

const ENVIRONMENT_HELP: &str = "\
Environment variables (also read from ./.env; real variables win):
  MATYAN_ENVIRONMENT / ENVIRONMENT  development | production (production refuses dev defaults)
  LOG_LEVEL                         DEBUG | INFO | WARNING | ERROR | CRITICAL [INFO]
  HOST / PORT                       listen address                            [0.0.0.0 / 53801]
  KAFKA_BOOTSTRAP_SERVERS           host:port[,host:port...]                  [localhost:9092]
  KAFKA_DATA_INGESTION_TOPIC        topic for run messages                    [data-ingestion]
  KAFKA_SECURITY_PROTOCOL           e.g. SASL_PLAINTEXT, SASL_SSL             [unset]
  KAFKA_SASL_MECHANISM              e.g. PLAIN, SCRAM-SHA-256                 [unset]
  KAFKA_SASL_USERNAME               SASL user name                            [unset]
  KAFKA_SASL_PASSWORD               SASL password (never shown)               [unset]
  WS_ANSWER_DEADLINE_MS             a frame not in Kafka by then is answered
                                    error; fits the stock client's 3 x 15 s   [40000]
  KAFKA_LINGER_MS                   producer batching delay                   [0]
  KAFKA_MAX_RECORD_BYTES            largest record accepted                   [1000000]
  KAFKA_COMPRESSION_TYPE            none | gzip | lz4 | zstd; the 0.3.0 workers
                                    read only none and gzip                   [none]
  KAFKA_MAX_INFLIGHT_BYTES          bytes on their way to Kafka, all connections;
                                    when spent, sockets are not read          [67108864]
  KAFKA_PROPERTY_<NAME>             any librdkafka property: KAFKA_PROPERTY_BATCH_SIZE=... sets batch.size
  BLOB_BACKEND_TYPE                 s3 | gcs | azure                          [s3]
  S3_ENDPOINT                       S3 URL the service uses                   [http://localhost:9000]
  S3_PUBLIC_ENDPOINT                S3 URL put in presigned URLs              [S3_ENDPOINT]
  S3_ACCESS_KEY / S3_SECRET_KEY     S3 credentials (secret never shown)       [rustfsadmin]
  S3_BUCKET / S3_REGION             bucket and signing region                 [matyan-artifacts / us-east-1]
  GCS_BUCKET / AZURE_CONTAINER      bucket / container for gcs / azure        [matyan-artifacts]
  GOOGLE_APPLICATION_CREDENTIALS    service-account key file: GCS URLs are signed with it [unset]
  STORAGE_EMULATOR_HOST             GCS emulator URL (unsigned upload URLs)   [unset]
  AZURE_CONN_STR / AZURE_ACCOUNT_URL  Azure credentials                       [unset]
  AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST
                                    without AZURE_CONN_STR: the AD credential for
                                    user-delegation SAS, as Azure's SDKs read them [unset]
  SSL_CERT_FILE                     PEM roots replacing the bundled ones for blob-store TLS [unset]
  S3_PRESIGN_EXPIRY                 presigned URL lifetime, seconds           [3600]
  SHUTDOWN_FLUSH_TIMEOUT            seconds to finish frames and flush        [5.0]
  METRICS_ENABLED                   serve /metrics/                           [true]
  CORS_ORIGINS                      comma-separated origins, or *             [localhost dev origins]
  WS_MAX_CONNECTIONS                open WebSocket connections at most        [20000]
  WS_MAX_FRAME_BYTES                largest WebSocket frame                   [16777216]
  WS_MAX_FRAMES_IN_FLIGHT           unanswered frames per connection; at the
                                    limit its socket is not read              [64]
  AUTH_TOKENS / AUTH_TOKENS_FILE    bearer tokens (TOKEN or TOKEN:RUN_ID_PREFIX) required on
                                    the WebSocket upgrade and presign; unset = no auth  [unset]";

#[derive(Parser)]
#[command(name = "matyan-frontier", version, about = "Ingestion gateway: WebSocket run streams to Kafka, presigned blob uploads", after_help = ENVIRONMENT_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Start {
        /// Listen address (overrides HOST).
        #[arg(long)]
        host: Option<String>,
        /// Listen port (overrides PORT).
        #[arg(long)]
        port: Option<u16>,
    },
}

fn main() {
    // A missing .env is normal; real environment variables take precedence.
    let _ = dotenvy::dotenv();
    let Command::Start { host, port } = Cli::parse().command;
    let mut settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("matyan-frontier: invalid configuration: {error}");
            std::process::exit(2);
        }
    };
    settings.host = host.unwrap_or(settings.host);
    settings.port = port.unwrap_or(settings.port);
    env_logger::Builder::new().filter_level(settings.log_filter).format_timestamp_micros().init();
    if let Err(error) = actix_web::rt::System::new().block_on(serve(settings)) {
        log::error!("{error}");
        std::process::exit(1);
    }
}

/// Binds, serves until SIGINT or SIGTERM, then shuts down in order.
async fn serve(settings: Settings) -> Result<(), StartupError> {
    let listener = listen(&format!("{}:{}", settings.host, settings.port))?;
    let gateway = Gateway::start(settings, listener).await?;
    shutdown_signal().await;
    gateway.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => log::info!("SIGINT received"),
        _ = terminate.recv() => log::info!("SIGTERM received"),
    }
}

#[cfg(test)]
mod tests {
    use super::ENVIRONMENT_HELP;

    /// The variables named in the first column of the README's configuration table.
    fn readme_variables() -> Vec<String> {
        let readme = include_str!("../README.md");
        let table = &readme[readme.find("## Configuration").unwrap()..readme.find("## Architecture").unwrap()];
        table
            .lines()
            .filter_map(|line| line.strip_prefix("| "))
            .flat_map(|row| row.split('|').next().unwrap_or_default().split('`').skip(1).step_by(2).map(str::to_owned).collect::<Vec<_>>())
            .filter(|name| name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .collect()
    }

    #[test]
    fn help_names_every_variable_of_the_readme_table() {
        let variables = readme_variables();
        assert!(variables.len() > 30, "the table was found: {variables:?}");
        let missing: Vec<&String> = variables.iter().filter(|v| !v.ends_with('_') && !ENVIRONMENT_HELP.contains(v.as_str())).collect();
        assert!(missing.is_empty(), "--help does not name {missing:?}");
    }
}
