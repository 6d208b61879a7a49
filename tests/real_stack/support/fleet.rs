//! A fleet on 127.0.0.1: gateway replicas (this gateway, or the Python
//! reference) behind HAProxy, configured by `scripts/fleet-stack.sh
//! balancer-config`, producing to the local stack's two-broker cluster.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use serde_json::Value;

use super::broker::{CLUSTER_BROKER_A, CLUSTER_BROKER_B};
use super::frontier::{free_port, Frontier};
use super::http::{get, http};
use super::kafka::{metric_point_counts, records_with, PointCounts, Record};
use super::stack::{bucket, s3_endpoint, topic};
use super::stock_client::StockClient;

/// Both brokers of the cluster, as a client's bootstrap list.
pub fn cluster_bootstrap() -> String {
    format!("{},{}", CLUSTER_BROKER_A.bootstrap(), CLUSTER_BROKER_B.bootstrap())
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// HAProxy in front of replicas on the given ports, stopped when dropped.
pub struct Balancer {
    child: Child,
    pub port: u16,
    stats_port: u16,
    config: PathBuf,
}

/// One replica as HAProxy's statistics show it.
#[derive(Debug, Clone)]
pub struct ServerStats {
    /// `UP`, `DOWN`, `UP 1/2` (going down), …
    pub status: String,
    /// Connections it was given in all.
    pub sessions: u64,
}

impl Balancer {
    pub fn start(replica_ports: &[u16]) -> Self {
        let (port, stats_port) = (free_port(), free_port());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/fleet-stack.sh");
        let mut args = vec![script.to_string(), "balancer-config".into(), port.to_string(), stats_port.to_string()];
        args.extend(replica_ports.iter().map(u16::to_string));
        let output = Command::new("bash").args(&args).output().expect("run fleet-stack.sh");
        assert!(output.status.success(), "balancer-config: {}", String::from_utf8_lossy(&output.stderr));
        let config = std::env::temp_dir().join(format!("matyan-haproxy-{port}.cfg"));
        std::fs::write(&config, &output.stdout).unwrap();
        // -db: in the foreground, as this process's child.
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy (scripts/build-deps.sh installs it)");
        let balancer = Self { child, port, stats_port, config };
        wait_until("HAProxy listening", Duration::from_secs(10), || TcpStream::connect(("127.0.0.1", port)).is_ok());
        balancer
    }

    /// The URL a client is given: the balancer's.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its replicas, from its statistics page (CSV).
    pub fn servers(&self) -> Vec<ServerStats> {
        let (status, _, csv) = get(&format!("http://127.0.0.1:{}/stats;csv", self.stats_port));
        assert_eq!(status, 200, "{csv}");
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().trim_start_matches("# ").split(',').collect();
        let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (proxy, server, state, sessions) = (column("pxname"), column("svname"), column("status"), column("stot"));
        lines
            .map(|line| line.split(',').collect::<Vec<_>>())
            .filter(|row| row.len() > sessions && row[proxy] == "replicas" && row[server] != "BACKEND")
            .map(|row| ServerStats { status: row[state].into(), sessions: row[sessions].parse().unwrap() })
            .collect()
    }

    /// Waits until HAProxy's health checks see `count` replicas ready.
    pub fn wait_for_ready_replicas(&self, count: usize, within: Duration) {
        wait_until(&format!("{count} replicas UP behind HAProxy"), within, || {
            self.servers().iter().filter(|s| s.status == "UP").count() == count
        });
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

/// Which gateway a fleet runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway {
    Ours,
    /// matyan-frontier 0.3.0 from PyPI (`scripts/reference-frontier.sh install`).
    #[allow(dead_code, reason = "the fleet benchmark (benches/fleet.rs) runs it; the tests run ours")]
    Reference,
}

/// A replica on a fixed port, so that it restarts where the balancer expects it.
pub struct Replica {
    pub gateway: Gateway,
    pub port: u16,
    bootstrap: String,
    extra: Vec<(String, String)>,
    process: Option<ReplicaProcess>,
}

enum ReplicaProcess {
    Ours(Frontier),
    Reference(Child),
}

impl Replica {
    /// A replica producing to the brokers at `bootstrap`, not started yet; `extra` settings apply to this gateway only.
    pub fn new(gateway: Gateway, bootstrap: &str, extra: &[(&str, &str)]) -> Self {
        let extra = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self { gateway, port: free_port(), bootstrap: bootstrap.into(), extra, process: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts it (again) on its port and waits until it is ready.
    pub fn start(&mut self) {
        assert!(self.process.is_none(), "replica on {} is running", self.port);
        let port = self.port.to_string();
        self.process = Some(match self.gateway {
            Gateway::Ours => {
                let mut env: Vec<(&str, &str)> = vec![("PORT", &port), ("KAFKA_BOOTSTRAP_SERVERS", &self.bootstrap)];
                env.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                ReplicaProcess::Ours(Frontier::start(&env))
            }
            Gateway::Reference => ReplicaProcess::Reference(start_reference(self.port, &self.bootstrap)),
        });
        // The reference opens its port only after its startup.
        let ready = || http().get(&self.url("/health/ready/")).call().is_ok_and(|answer| answer.status() == 200);
        wait_until(&format!("replica on {port} ready"), Duration::from_secs(60), ready);
    }

    /// SIGTERM, then waits for the process to exit: how long its shutdown took.
    pub fn stop(&mut self) -> Duration {
        let started = Instant::now();
        match self.process.take().expect("the replica is running") {
            ReplicaProcess::Ours(mut frontier) => {
                let status = frontier.terminate();
                assert!(status.success(), "replica on {} exited with {status}: {}", self.port, frontier.log_text());
            }
            ReplicaProcess::Reference(mut child) => {
                Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
                child.wait().unwrap();
            }
        }
        started.elapsed()
    }

    fn ours(&self) -> &Frontier {
        match &self.process {
            Some(ReplicaProcess::Ours(frontier)) => frontier,
            _ => panic!("metrics are read from a running gateway of ours"),
        }
    }

    /// Frames this gateway answered since it started, from its `/metrics/`.
    pub fn frames_answered(&self) -> f64 {
        ["ok", "rejected", "failed", "resent"]
            .iter()
            .filter_map(|result| self.ours().metric(&format!("matyan_ws_frames_total{{result=\"{result}\"}}")))
            .sum()
    }

    /// WebSocket connections open on this gateway, from its `/metrics/`.
    pub fn active_connections(&self) -> f64 {
        self.ours().metric("matyan_ws_connections_active").unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(ReplicaProcess::Reference(child)) = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The reference's own entry point, as `scripts/reference-frontier.sh start` runs it,
/// with the local stack's S3 and the given brokers.
fn start_reference(port: u16, bootstrap: &str) -> Child {
    let run = PathBuf::from(std::env::var_os("MATYAN_STACK_RUN").expect("MATYAN_STACK_RUN is set by scripts/local-stack.sh env"));
    let program = run.parent().unwrap().join("reference-venv/bin/matyan-frontier");
    assert!(program.exists(), "{} is missing: run scripts/reference-frontier.sh install", program.display());
    let log = std::fs::File::create(run.join(format!("reference-replica-{port}.log"))).unwrap();
    Command::new(program)
        .args(["start", "--host", "127.0.0.1", "--port", &port.to_string()])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .envs([
            ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.to_string()),
            ("KAFKA_DATA_INGESTION_TOPIC", topic()),
            ("BLOB_BACKEND_TYPE", "s3".into()),
            ("S3_ENDPOINT", s3_endpoint()),
            ("S3_BUCKET", bucket()),
            ("S3_ACCESS_KEY", "rustfsadmin".into()),
            ("S3_SECRET_KEY", "rustfsadmin".into()),
            ("LOG_LEVEL", "WARNING".into()),
        ])
        // Its settings also read a `.env` from the working directory.
        .current_dir(&run)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start the reference")
}

/// The records of `run_ids` on the brokers at `bootstrap`, `expected` at least.
pub fn records_at_brokers(bootstrap: &str, run_ids: &[&str], expected: usize) -> Vec<Record> {
    let mut consumer = ClientConfig::new();
    consumer.set("bootstrap.servers", bootstrap);
    records_with(consumer, run_ids, expected, Duration::from_secs(120))
}

/// What a rolling restart takes down and brings back, one at a time, while the clients stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restarted {
    /// Replica A (SIGTERM, start again on its port), then replica B.
    Replicas,
    /// Broker A of the cluster, then broker B; the replicas stay up.
    Brokers,
}

/// What one rolling restart showed.
#[derive(Debug)]
pub struct RollingRestart {
    pub gateway: Gateway,
    pub restarted: Restarted,
    pub counts: PointCounts,
    /// For each restart: from SIGTERM to the process's exit (the replica's drain and flush, or the broker's).
    pub shutdowns: Vec<Duration>,
    /// Connections HAProxy gave each replica over the whole run.
    pub sessions: Vec<u64>,
    /// This gateway only: frames each replica had answered when it was stopped.
    pub frames_at_stop: Vec<f64>,
    /// What the clients themselves count as dropped (a batch whose answer a close cut off).
    pub dropped_by_clients: u64,
    /// Messages the clients still held when `run.close()` gave up waiting (8 s) for their queue to
    /// be sent: a gateway slower than the clients track loses these, restart or not.
    pub unsent_at_close: u64,
    pub took: Duration,
}

/// `clients` stock-client processes, each tracking `points` steps `interval_ms` apart, stream
/// through HAProxy to two replicas; a quarter of the way in, A is restarted, then B; once
/// all clients closed their runs, the points are counted in Kafka.
pub fn rolling_restart(gateway: Gateway, restarted: Restarted, clients: usize, points: usize, interval_ms: u64) -> RollingRestart {
    // The fleet tests and the benchmark take the cluster's turn: broker A's.
    let _cluster = CLUSTER_BROKER_A.take_turn();
    let bootstrap = cluster_bootstrap();
    let mut replicas = [Replica::new(gateway, &bootstrap, &[]), Replica::new(gateway, &bootstrap, &[])];
    replicas.iter_mut().for_each(Replica::start);
    let balancer = Balancer::start(&[replicas[0].port, replicas[1].port]);
    balancer.wait_for_ready_replicas(2, Duration::from_secs(10));
    let started = Instant::now();
    let streams: Vec<StockClient> = (0..clients).map(|_| StockClient::stream_points(&balancer.url(), points, interval_ms)).collect();
    let pause = Duration::from_millis(points as u64 * interval_ms / 4);
    let (mut shutdowns, mut frames_at_stop) = (Vec::new(), Vec::new());
    for index in 0..2 {
        std::thread::sleep(pause);
        match restarted {
            Restarted::Replicas => {
                let replica = &mut replicas[index];
                if gateway == Gateway::Ours {
                    frames_at_stop.push(replica.frames_answered());
                }
                shutdowns.push(replica.stop());
                replica.start();
                balancer.wait_for_ready_replicas(2, Duration::from_secs(30));
            }
            Restarted::Brokers => {
                let broker = [&CLUSTER_BROKER_A, &CLUSTER_BROKER_B][index];
                let stopping = Instant::now();
                broker.stop();
                shutdowns.push(stopping.elapsed());
                broker.start();
            }
        }
    }
    let reports: Vec<Value> = streams.into_iter().map(StockClient::report).collect();
    let took = started.elapsed();
    let run_ids: Vec<&str> = reports.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    let records = records_at_brokers(&bootstrap, &run_ids, clients * points);
    RollingRestart {
        gateway,
        restarted,
        counts: metric_point_counts(&records, &run_ids, points),
        shutdowns,
        sessions: balancer.servers().iter().map(|s| s.sessions).collect(),
        frames_at_stop,
        dropped_by_clients: reports.iter().map(|r| r["transport"]["dropped"].as_u64().unwrap()).sum(),
        unsent_at_close: reports.iter().map(|r| r["transport"]["pending"].as_u64().unwrap()).sum(),
        took,
    }
}

impl std::fmt::Display for RollingRestart {
    /// One row of the table whose header is [`ROLLING_RESTART_HEADER`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counts;
        let shutdowns: Vec<String> = self.shutdowns.iter().map(|d| format!("{:.2} s", d.as_secs_f64())).collect();
        write!(
            f,
            "| {:?} | {:?} | {} | {} | {} | {} | {} | {} | {:?} | {} | {} | {:.0} s |",
            self.gateway,
            self.restarted,
            c.tracked,
            c.in_kafka,
            c.lost,
            c.duplicates,
            c.out_of_order,
            shutdowns.join(", "),
            self.sessions,
            self.dropped_by_clients,
            self.unsent_at_close,
            self.took.as_secs_f64()
        )
    }
}

/// The header of [`RollingRestart`]'s rows.
pub const ROLLING_RESTART_HEADER: &str = "| gateway | restarted | tracked | in Kafka | lost | duplicates | out of order | SIGTERM to exit | connections per replica | dropped by clients | unsent at close | took |\n|---|---|---|---|---|---|---|---|---|---|---|---|";
