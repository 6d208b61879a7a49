//! `matyan-frontier`: the ingestion gateway between training clients and Kafka.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use matyan_actors::connections::ConnectionRegistry;
use matyan_frontier::config::{self, Config, ConfigError, Settings};
use matyan_frontier::{listen, Gateway, ServerEnded, StartupError};
use tokio::signal::unix::{signal, Signal, SignalKind};

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
    matyan_frontier::logging::init(settings.log_filter, settings.log_format);
    let system = actix_web::rt::System::new();
    let code = match system.block_on(serve(settings)) {
        Ok(()) => 0,
        Err(error) => {
            log::error!("{error}");
            1
        }
    };
    // Exits without dropping the runtime: its drop would wait for every
    // blocking task and actor, whatever the shutdown left behind.
    std::process::exit(code);
}

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("cannot handle SIGTERM, SIGINT and SIGUSR1: {0}")]
    Signals(std::io::Error),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    ServerEnded(#[from] ServerEnded),
}

/// Binds, serves until SIGTERM or SIGINT, then shuts down in order; a second
/// one exits at once. SIGUSR1 drains the connections while it serves on.
async fn serve(settings: Settings) -> Result<(), ServeError> {
    let mut signals = StopSignals::install().map_err(ServeError::Signals)?;
    let drain_requests = signal(SignalKind::user_defined1()).map_err(ServeError::Signals)?;
    let drain_spread = settings.drain_spread;
    let listener = listen(&format!("{}:{}", settings.host, settings.port))?;
    let gateway = Gateway::start(settings, listener).await?;
    actix_web::rt::spawn(drain_on_request(drain_requests, gateway.connections(), drain_spread));
    gateway
        .run_until(async move {
            let first = signals.recv().await;
            log::info!("{first} received: shutting down (another SIGTERM or SIGINT exits at once)");
            actix_web::rt::spawn(async move {
                let second = signals.recv().await;
                log::error!("{second} received again during shutdown: exiting now, without waiting for the answers and the flush");
                std::process::exit(second.exit_code());
            });
        })
        .await?;
    Ok(())
}

/// Closes every connection (1012) over `spread` at each SIGUSR1, so their
/// clients reconnect to other replicas (scale-out, a replica to be emptied).
async fn drain_on_request(mut requests: Signal, connections: Arc<ConnectionRegistry>, spread: Duration) {
    while requests.recv().await.is_some() {
        let open = connections.len();
        log::info!("SIGUSR1 received: draining {open} WebSocket connections over {:.1} s (readiness 503 meanwhile)", spread.as_secs_f64());
        let connections = Arc::clone(&connections);
        actix_web::rt::spawn(async move {
            match connections.drain(spread).await {
                Some(told) => log::info!("drain done: {told} connections told to reconnect; {} open now", connections.len()),
                None => log::info!("a drain is already under way: this SIGUSR1 is ignored"),
            }
        });
    }
}

/// SIGTERM and SIGINT, caught from startup on (Ctrl-C, an orchestrator stopping us).
struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
}

#[derive(Debug, Clone, Copy)]
enum StopSignal {
    Terminate,
    Interrupt,
}

impl StopSignals {
    fn install() -> std::io::Result<Self> {
        Ok(Self { terminate: signal(SignalKind::terminate())?, interrupt: signal(SignalKind::interrupt())? })
    }

    async fn recv(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.terminate.recv() => StopSignal::Terminate,
            _ = self.interrupt.recv() => StopSignal::Interrupt,
        }
    }
}

impl StopSignal {
    /// As a shell reports a process this signal killed: 128 + its number (SIGTERM 15, SIGINT 2).
    fn exit_code(self) -> i32 {
        match self {
            Self::Terminate => 128 + 15,
            Self::Interrupt => 128 + 2,
        }
    }
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Terminate => "SIGTERM",
            Self::Interrupt => "SIGINT",
        })
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
