//! A real frontier process on a free port, with the local stack's settings.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::get;
use super::stack::{bucket, kafka_bootstrap, s3_endpoint, topic};
use super::websocket::{upgrade, WsClient};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A frontier process on a free port, killed when dropped.
pub struct Frontier {
    child: Child,
    pub port: u16,
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Frontier {
    /// The local stack's settings, overridden by `extra`.
    pub fn start(extra: &[(&str, &str)]) -> Self {
        Self::try_start(extra).expect("frontier did not become live")
    }

    pub fn try_start(extra: &[(&str, &str)]) -> Result<Self, String> {
        // A test that restarts a frontier in place passes the port it had (an invalid PORT is for the frontier to refuse).
        let port = extra.iter().find_map(|(name, value)| (*name == "PORT").then(|| value.parse().ok()).flatten()).unwrap_or_else(free_port);
        let mut env: HashMap<String, String> = [
            ("HOST", "127.0.0.1".to_string()),
            ("PORT", port.to_string()),
            ("LOG_LEVEL", "INFO".into()),
            ("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap()),
            ("KAFKA_DATA_INGESTION_TOPIC", topic()),
            ("S3_ENDPOINT", s3_endpoint()),
            ("S3_BUCKET", bucket()),
            ("S3_ACCESS_KEY", "rustfsadmin".into()),
            ("S3_SECRET_KEY", "rustfsadmin".into()),
            ("SHUTDOWN_FLUSH_TIMEOUT", "5".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut child = Command::new(env!("CARGO_BIN_EXE_matyan-frontier"))
            .arg("start")
            .env_clear()
            .envs(&env)
            // No stray .env file is read from here.
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&logs);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut frontier = Self { child, port, logs };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(frontier);
            }
            if let Ok(Some(status)) = frontier.child.try_wait() {
                // Its stderr is closed now: collect every line before reporting.
                let _ = reader.join();
                return Err(format!("frontier exited with {status}: {}", frontier.logs.lock().unwrap().join("\n")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("frontier not listening after 20 s: {}", frontier.logs.lock().unwrap().join("\n")))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The WebSocket URL of `run_id` (a query string may follow it).
    pub fn ws_url(&self, run_id: &str) -> String {
        format!("ws://127.0.0.1:{}/api/v1/ws/runs/{run_id}", self.port)
    }

    pub fn ws(&self, run_id: &str) -> WsClient {
        upgrade(&self.ws_url(run_id), None).expect("WebSocket upgrade")
    }

    /// The value of one series (`name{labels}`) on `/metrics/`, if it is there.
    pub fn metric(&self, series: &str) -> Option<f64> {
        let (status, _, text) = get(&self.url("/metrics/"));
        assert_eq!(status, 200, "{text}");
        text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// SIGKILL: no shutdown sequence at all.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait_for_exit(Duration::from_secs(30)).expect("frontier did not exit after SIGTERM")
    }

    /// Sends a signal (`TERM`, `INT`, …) without waiting.
    pub fn signal(&self, name: &str) {
        Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
    }

    /// Its exit status, if it exits within `within`.
    pub fn wait_for_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

impl Drop for Frontier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process, from /proc.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap()
}

/// Polls readiness until it answers `expected`; its JSON body.
pub fn wait_for_readiness(frontier: &Frontier, expected: u16, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, _, body) = get(&frontier.url("/health/ready/"));
        if status == expected {
            return serde_json::from_str(&body).unwrap();
        }
        assert!(Instant::now() < deadline, "readiness stayed {status} ({body}), expected {expected}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
