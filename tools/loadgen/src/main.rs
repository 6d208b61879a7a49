//! The frontier's benchmark (`scripts/bench.sh` builds and runs it against the
//! local stack). In one run and against the same broker it drives:
//!
//! - this gateway (`--gateway`), and optionally a second build of it
//!   (`--baseline`, the "before" rows);
//! - the reference Python matyan-frontier 0.3.0 (`--reference`, through
//!   `scripts/reference-frontier.sh`);
//! - a plain rdkafka producer with the gateway's settings and records: the ceiling.
//!
//! Clients are stop-and-wait like matyan-client 0.3.0: one WebSocket per run,
//! a frame, then its answer. Every phase writes to a fresh topic, which is read
//! back afterwards: Kafka must hold exactly the acked messages. The table goes
//! to stdout; the exit code is 1 when any phase failed that check or saw errors.
//! Traffic goes to 127.0.0.1 only.

mod bench;
mod ceiling;
mod chart;
mod kafka_count;
mod load;
mod proc_stats;
mod report;
mod result;
mod servers;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(name = "loadgen", about = "The frontier's benchmark: prints one table of msgs/s, latency and CPU per message")]
pub struct Cli {
    /// The gateway binary under test (`matyan-frontier`).
    #[arg(long)]
    pub gateway: PathBuf,
    /// A second gateway binary, measured beside the first as "before".
    #[arg(long, env = "BENCH_BASELINE_BIN")]
    pub baseline: Option<PathBuf>,
    /// Also measure the Python reference (installed by `scripts/reference-frontier.sh install`).
    #[arg(long)]
    pub reference: bool,
    /// A few seconds of two small loads against the gateways only: a correctness check.
    #[arg(long)]
    pub smoke: bool,
    /// Seconds of load per phase (the smoke run takes 3).
    #[arg(long, env = "BENCH_SECONDS", default_value_t = 15.0)]
    pub seconds: f64,
    /// Connections of the idle phase.
    #[arg(long, env = "BENCH_IDLE", default_value_t = 10_000)]
    pub idle_connections: usize,
    /// The broker the gateways and the ceiling write to.
    #[arg(long, env = "KAFKA_BOOTSTRAP_SERVERS")]
    pub bootstrap: String,
    /// Where `scripts/local-stack.sh` installed `tansu`, whose CLI creates the topics.
    #[arg(long, env = "MATYAN_STACK_BIN")]
    pub stack_bin: PathBuf,
    /// Where the chart of msgs/s and p99 latency by connection count goes (SVG); only a full run draws one.
    #[arg(long, env = "BENCH_CHART", default_value = "target/bench-chart.svg")]
    pub chart: PathBuf,
}

/// How one phase loads its subject.
#[derive(Debug, Clone)]
pub struct LoadShape {
    /// Concurrent connections (runs).
    pub connections: usize,
    /// Messages per frame.
    pub batch: usize,
    /// Seconds of load.
    pub seconds: f64,
    /// Pause between frames per connection, in milliseconds (0 = stop-and-wait only).
    pub pause_ms: f64,
}

impl LoadShape {
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let results = if cli.smoke { bench::smoke(&cli) } else { bench::full(&cli) };
    report::print(&results);
    if let Some(svg) = chart::svg(&results) {
        match std::fs::write(&cli.chart, svg) {
            Ok(()) => println!("chart: {}", cli.chart.display()),
            Err(error) => eprintln!("cannot write the chart to {}: {error}", cli.chart.display()),
        }
    }
    if report::all_correct(&results) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
