//! The fleet benchmark, with the stock client (`matyan-client` 0.3.0
//! processes) through HAProxy, this gateway against the Python reference
//! (matyan-frontier 0.3.0), in one run on one machine:
//!
//! 1. Rolling restarts: 16 clients × 20,000 points, 5 ms apart, through two
//!    replicas over the two-broker cluster; replica A then B restarted
//!    (SIGTERM, start again), then the same with broker A then B. Tracked
//!    points against `log_metric` records in Kafka.
//! 2. Throughput: 32 clients × 10,000 points as fast as each can track,
//!    through 1 and then 2 replicas, on the memory broker (so that the broker
//!    is not what is measured). Aggregate points/s (points in Kafka over the
//!    time from the first `track` to the last `close()`) and `run.close()` time.
//!
//! Run it with `scripts/fleet-bench.sh` (it starts the local stack and installs
//! the reference). Sizes: FLEET_ROLLING_CLIENTS, FLEET_ROLLING_POINTS,
//! FLEET_ROLLING_INTERVAL_MS, FLEET_CLIENTS, FLEET_POINTS (0 clients: no
//! throughput phase).

#[allow(dead_code, unused_imports)]
#[path = "../tests/real_stack/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var).map(|v| v.parse().unwrap_or_else(|_| panic!("{var}={v} is not a count"))).unwrap_or(default)
}

fn main() {
    let (rolling_clients, rolling_points) = (count("FLEET_ROLLING_CLIENTS", 16), count("FLEET_ROLLING_POINTS", 20_000));
    let interval_ms = count("FLEET_ROLLING_INTERVAL_MS", 5) as u64;
    let (clients, points) = (count("FLEET_CLIENTS", 32), count("FLEET_POINTS", 10_000));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("Fleet benchmark on {cores} cores: this gateway (release build) against matyan-frontier 0.3.0, HAProxy in front.\n");

    println!(
        "Rolling restarts: {rolling_clients} stock clients x {rolling_points} points, {interval_ms} ms apart, two replicas, two brokers\n"
    );
    println!("{ROLLING_RESTART_HEADER}");
    for restarted in [Restarted::Replicas, Restarted::Brokers] {
        for gateway in [Gateway::Ours, Gateway::Reference] {
            println!("{}", rolling_restart(gateway, restarted, rolling_clients, rolling_points, interval_ms));
        }
    }
    if clients == 0 {
        return;
    }

    println!("\nThroughput: {clients} stock clients x {points} points, as fast as each tracks, memory broker\n");
    println!("| replicas | gateway | points/s | vs reference | close() p50 | close() p99 | lost |\n|---|---|---|---|---|---|---|");
    let bootstrap = kafka_bootstrap();
    for replicas in [1, 2] {
        let ours = throughput(Gateway::Ours, &bootstrap, replicas, clients, points);
        let reference = throughput(Gateway::Reference, &bootstrap, replicas, clients, points);
        for run in [&ours, &reference] {
            println!(
                "| {replicas} | {:?} | {:.0} | {:.2}x | {:.2} s | {:.2} s | {} |",
                run.gateway,
                run.points_per_second,
                run.points_per_second / reference.points_per_second,
                run.close_p50.as_secs_f64(),
                run.close_p99.as_secs_f64(),
                run.lost
            );
        }
    }
}

/// What one throughput run showed.
#[derive(Debug)]
struct Throughput {
    gateway: Gateway,
    /// Points in Kafka, over the time from the first `track` to the last `close()` returning
    /// (a point a client gave up on at close does not count).
    points_per_second: f64,
    /// How long `run.close()` took (it returns once every batch is answered).
    close_p50: Duration,
    close_p99: Duration,
    lost: usize,
}

/// `clients` stock-client processes through HAProxy to `replicas` replicas, each tracking
/// `points` steps as fast as it can, then closing its run.
fn throughput(gateway: Gateway, bootstrap: &str, replicas: usize, clients: usize, points: usize) -> Throughput {
    let mut fleet: Vec<Replica> = (0..replicas).map(|_| Replica::new(gateway, bootstrap, &[])).collect();
    fleet.iter_mut().for_each(Replica::start);
    let balancer = Balancer::start(&fleet.iter().map(|r| r.port).collect::<Vec<_>>());
    balancer.wait_for_ready_replicas(replicas, Duration::from_secs(10));
    let streams: Vec<StockClient> = (0..clients).map(|_| StockClient::stream_points(&balancer.url(), points, 0)).collect();
    let reports: Vec<Value> = streams.into_iter().map(StockClient::report).collect();
    let seconds = |field: &str| -> Vec<f64> { reports.iter().map(|r| r[field].as_f64().unwrap()).collect() };
    let took = seconds("closed_at").into_iter().fold(f64::MIN, f64::max) - seconds("first_track_at").into_iter().fold(f64::MAX, f64::min);
    let mut closes = seconds("close_seconds");
    closes.sort_by(f64::total_cmp);
    // Nearest rank.
    let percentile = |p: f64| Duration::from_secs_f64(closes[((p * closes.len() as f64).ceil() as usize).clamp(1, closes.len()) - 1]);
    let run_ids: Vec<&str> = reports.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    let records = records_at_brokers(bootstrap, &run_ids, clients * points);
    let lost = metric_point_counts(&records, &run_ids, points).lost;
    Throughput {
        gateway,
        points_per_second: (clients * points - lost) as f64 / took,
        close_p50: percentile(0.50),
        close_p99: percentile(0.99),
        lost,
    }
}
