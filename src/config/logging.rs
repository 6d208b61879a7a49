//! How log lines are written (their level is `LOG_LEVEL`, a server setting).

use crate::logging::LogFormat;

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Logging")]
pub struct LoggingConfig {
    /// `text` (env_logger's lines) or `json`: one JSON object a line with `timestamp`, `level`, `target`, `message`,
    /// and `conn`, `run`, `request_id` and `path` where the line has them.
    #[arg(long, env = "LOG_FORMAT", value_name = "FORMAT", value_enum, ignore_case = true, default_value = "text")]
    pub log_format: LogFormat,
}
