//! `matyan-frontier`: the ingestion gateway between training clients and Kafka.

mod auth;
mod config;
mod http_metrics;
mod request_id;
mod routes;
mod server;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use config::{Config, ConfigError, Settings};

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
    if let Err(error) = actix_web::rt::System::new().block_on(server::run(settings)) {
        log::error!("{error}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::config::reference::describe(super::Cli::command()).debug_assert();
    }
}
