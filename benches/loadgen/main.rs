//! Load generator for the frontier benchmark (`scripts/bench.sh` drives it).
//!
//! - `ws`: N WebSocket connections (one run each), stop-and-wait frames shaped
//!   like matyan-client 0.3.0's, for a fixed time; acked messages/s, frame-answer
//!   latency, errors, the server's RSS and CPU seconds; then the topic is read
//!   back and must hold exactly the acked messages.
//! - `idle`: N connections that send nothing; RSS growth per connection.
//! - `ceiling`: a plain rdkafka producer, same settings, same records, same
//!   stop-and-wait batches; no WebSocket, no JSON work.
//!
//! Every mode prints one JSON line on stdout. Traffic goes to 127.0.0.1 only.

mod ceiling;
mod kafka_count;
mod load;
mod server_stats;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "loadgen")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Args, Clone)]
pub struct LoadShape {
    /// Concurrent connections (runs).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Messages per frame.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Pause between frames per connection, in milliseconds (0 = stop-and-wait only).
    #[arg(long, default_value_t = 0.0)]
    pub pause_ms: f64,
}

impl LoadShape {
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }
}

#[derive(Subcommand)]
enum Mode {
    Ws {
        /// Base URL, e.g. ws://127.0.0.1:53801
        #[arg(long)]
        url: String,
        #[command(flatten)]
        shape: LoadShape,
        /// Server process to measure (RSS, CPU seconds).
        #[arg(long)]
        server_pid: Option<u32>,
        /// Read the topic back afterwards and compare with the acked count.
        #[arg(long)]
        bootstrap: Option<String>,
        #[arg(long, default_value = "data-ingestion")]
        topic: String,
        #[arg(long, default_value = "ours")]
        label: String,
    },
    Idle {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        #[arg(long)]
        server_pid: u32,
        #[arg(long, default_value = "ours")]
        label: String,
    },
    Ceiling {
        #[arg(long)]
        bootstrap: String,
        #[arg(long, default_value = "data-ingestion")]
        topic: String,
        #[command(flatten)]
        shape: LoadShape,
    },
}

fn main() {
    // `cargo bench` passes `--bench`; it means nothing here.
    let args = std::env::args().filter(|a| a != "--bench");
    let report = match Cli::parse_from(args).mode {
        Mode::Ws { url, shape, server_pid, bootstrap, topic, label } => {
            load::run_ws(&url, &shape, server_pid, bootstrap.as_deref(), &topic, &label)
        }
        Mode::Idle { url, connections, server_pid, label } => load::run_idle(&url, connections, server_pid, &label),
        Mode::Ceiling { bootstrap, topic, shape } => ceiling::run(&bootstrap, &topic, &shape),
    };
    println!("{report}");
}
