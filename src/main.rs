//! `matyan-frontier`: the ingestion gateway between training clients and Kafka.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use matyan_frontier::config::{self, Config, ConfigError, Settings};
use matyan_frontier::{listen, Gateway, StartupError};

// The variables are listed after `--help` (`config::reference`).
#[derive(Parser)]
#[command(name = "matyan-frontier", version, about = "Ingestion gateway: WebSocket run streams to Kafka, presigned blob uploads")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    ///
    /// Every variable is also a flag here, which wins over it: `--host` and `--port` override HOST and PORT.
    Start(Box<Config>),
}

fn main() {
    // A missing .env is normal; real environment variables take precedence.
    let _ = dotenvy::dotenv();
    config::unset_empty_variables();
    let mut command = config::reference::describe(Cli::command());
    let parsed = command.try_get_matches_from_mut(std::env::args_os()).and_then(|matches| Cli::from_arg_matches(&matches));
    let settings = match parsed {
        Ok(Cli { command: Command::Start(config) }) => Settings::new(*config, &config::process_vars()),
        Err(error) => Err(ConfigError::from_clap(&error).unwrap_or_else(|| error.exit())),
    };
    let settings = settings.unwrap_or_else(|error| {
        eprintln!("matyan-frontier: invalid configuration: {error}");
        std::process::exit(2);
    });
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
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        matyan_frontier::config::reference::describe(super::Cli::command()).debug_assert();
    }
}
