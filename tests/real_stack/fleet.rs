//! A fleet: two replicas behind HAProxy, producing to the two-broker Tansu
//! cluster over PostgreSQL, with stock `matyan-client` 0.3.0 processes
//! streaming through the balancer:
//! - a rolling restart of the replicas (SIGTERM A, start it again, then B)
//!   loses no tracked point, and both replicas served;
//! - so does a rolling restart of the brokers;
//! - after a scale-out from one replica to two, `WS_MAX_CONNECTION_AGE`
//!   spreads the connections over both, losing nothing.
//!
//! CI runs the short form (4 clients × 5,000 points); the full form is
//! `MATYAN_FLEET_CLIENTS=16 MATYAN_FLEET_POINTS=20000 scripts/test.sh --test real_stack fleet::`.
//! `cargo bench --bench fleet` (scripts/fleet-bench.sh) runs the same procedure against the reference.

use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::Value;

const INTERVAL_MS: u64 = 5;

fn size(var: &str, default: usize) -> usize {
    std::env::var(var).map(|v| v.parse().unwrap_or_else(|_| panic!("{var}={v} is not a count"))).unwrap_or(default)
}

fn clients_and_points() -> (usize, usize) {
    (size("MATYAN_FLEET_CLIENTS", 4), size("MATYAN_FLEET_POINTS", 5_000))
}

fn assert_lossless(run: &RollingRestart) {
    eprintln!("{ROLLING_RESTART_HEADER}\n{run}");
    assert_eq!(run.counts.lost, 0, "every tracked point is in Kafka: {run:?}");
    assert!(run.sessions.iter().all(|&s| s > 0), "both replicas were given connections: {:?}", run.sessions);
}

#[test]
fn a_rolling_restart_of_the_replicas_loses_no_tracked_point() {
    let (clients, points) = clients_and_points();
    let run = rolling_restart(Gateway::Ours, Restarted::Replicas, clients, points, INTERVAL_MS);
    assert_lossless(&run);
    assert!(run.frames_at_stop.iter().all(|&f| f > 0.0), "each replica answered frames before its restart: {:?}", run.frames_at_stop);
}

#[test]
fn a_rolling_restart_of_the_brokers_loses_no_tracked_point() {
    let (clients, points) = clients_and_points();
    let run = rolling_restart(Gateway::Ours, Restarted::Brokers, clients, points, INTERVAL_MS);
    assert_lossless(&run);
}

#[test]
fn after_a_scale_out_to_two_replicas_connections_spread_and_nothing_is_lost() {
    const CLIENTS: usize = 4;
    // 30 s of streaming: long enough for the scale-out to happen while every client still streams.
    const POINTS: usize = 6_000;
    let _cluster = CLUSTER_BROKER_A.take_turn();
    // Connections live about 3 s, then reconnect through the balancer.
    let aged = [("WS_MAX_CONNECTION_AGE", "3")];
    let bootstrap = cluster_bootstrap();
    let mut first = Replica::new(Gateway::Ours, &bootstrap, &aged);
    let mut added = Replica::new(Gateway::Ours, &bootstrap, &aged);
    first.start();
    let balancer = Balancer::start(&[first.port, added.port]);
    balancer.wait_for_ready_replicas(1, Duration::from_secs(10));
    let streams: Vec<StockClient> = (0..CLIENTS).map(|_| StockClient::stream_points(&balancer.url(), POINTS, INTERVAL_MS)).collect();
    // A stock client takes a second or more to start: wait until all of them are on the only replica.
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.active_connections() < CLIENTS as f64 {
        assert!(Instant::now() < deadline, "with one replica, it holds every connection: {}", first.active_connections());
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = [first.active_connections(), 0.0];
    added.start();
    balancer.wait_for_ready_replicas(2, Duration::from_secs(10));
    let ready_at = Instant::now();
    // Every connection reaches its age (3.3 s at most) and reconnects to the less loaded replica.
    let deadline = ready_at + Duration::from_secs(15);
    let after = loop {
        let open = [first.active_connections(), added.active_connections()];
        if open.iter().all(|&n| n > 0.0) || Instant::now() > deadline {
            break open;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let spread_after = ready_at.elapsed();
    let reports: Vec<Value> = streams.into_iter().map(StockClient::report).collect();
    let run_ids: Vec<&str> = reports.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    let records = records_at_brokers(&bootstrap, &run_ids, CLIENTS * POINTS);
    let counts = metric_point_counts(&records, &run_ids, POINTS);
    eprintln!(
        "scale-out 1 -> 2: open connections before {before:?}, then {after:?}, {:.1} s after the added replica was ready; frames answered by the added replica {}; {counts:?}",
        spread_after.as_secs_f64(),
        added.frames_answered()
    );
    assert!(after.iter().all(|&open| open > 0.0), "after the scale-out both replicas hold connections: {after:?}");
    assert!(added.frames_answered() > 0.0, "the added replica answered frames");
    assert_eq!(counts.lost, 0, "every tracked point is in Kafka: {counts:?}");
}
