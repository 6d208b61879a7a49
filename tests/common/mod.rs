//! Shared harness for the integration tests: a real frontier process, a real
//! Kafka consumer, a WebSocket client and a signed S3 reader, all on 127.0.0.1.
//! The broker and the S3 server come from `scripts/local-stack.sh up`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::WebSocket;

pub const PARTITIONS: i32 = 6;

pub fn kafka_bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

pub fn topic() -> String {
    std::env::var("KAFKA_DATA_INGESTION_TOPIC").unwrap_or_else(|_| "data-ingestion".into())
}

pub fn s3_endpoint() -> String {
    std::env::var("S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8333".into())
}

pub fn bucket() -> String {
    std::env::var("S3_BUCKET").unwrap_or_else(|_| "matyan-artifacts".into())
}

pub fn unique_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn free_port() -> u16 {
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
        let port = free_port();
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

    pub fn ws(&self, run_id: &str) -> WsClient {
        let (socket, _) = tungstenite::connect(format!("ws://127.0.0.1:{}/api/v1/ws/runs/{run_id}", self.port)).expect("WebSocket upgrade");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        }
        WsClient { socket }
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
        Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "frontier did not exit after SIGTERM");
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

pub struct WsClient {
    pub socket: WebSocket<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub fn send(&mut self, text: &str) {
        self.socket.send(tungstenite::Message::text(text)).expect("send frame");
    }

    /// The next text answer, parsed.
    pub fn answer(&mut self) -> Value {
        loop {
            match self.socket.read().expect("read answer") {
                tungstenite::Message::Text(text) => return serde_json::from_str(&text).expect("answer is JSON"),
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
                other => panic!("expected a text answer, got {other:?}"),
            }
        }
    }

    pub fn roundtrip(&mut self, text: &str) -> Value {
        self.send(text);
        self.answer()
    }
}

pub fn ok_answer() -> Value {
    serde_json::json!({"status": "ok", "error": null})
}

/// One record read back from Kafka.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub value: Value,
    pub has_headers: bool,
}

/// Reads every partition from the beginning (the local broker's watermarks
/// are not reliable, so no group and no watermarks) and keeps `run_id`'s records.
pub fn records_for(run_id: &str, expected: usize, timeout: Duration) -> Vec<Record> {
    records_at(&kafka_bootstrap(), run_id, expected, timeout)
}

/// [`records_for`] on another broker.
pub fn records_at(bootstrap: &str, run_id: &str, expected: usize, timeout: Duration) -> Vec<Record> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    records_with(config, &[run_id], expected, timeout)
}

/// The records of several runs in one pass over the topic: `expected` in all.
pub fn records_of_runs(run_ids: &[&str], expected: usize, timeout: Duration) -> Vec<Record> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", kafka_bootstrap());
    records_with(config, run_ids, expected, timeout)
}

/// The records of `run_ids`, with a consumer configured by the caller (credentials, say).
pub fn records_with(mut config: ClientConfig, run_ids: &[&str], expected: usize, timeout: Duration) -> Vec<Record> {
    let consumer: BaseConsumer = config
        .set("group.id", "matyan-tests")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        assignment.add_partition_offset(&topic(), partition, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut found = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut quiet_since = Instant::now();
    // After the expected count, keep reading briefly to catch unexpected extras.
    while Instant::now() < deadline && !(found.len() >= expected && quiet_since.elapsed() > Duration::from_millis(1500)) {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                quiet_since = Instant::now();
                if message.key().is_some_and(|key| run_ids.iter().any(|run_id| run_id.as_bytes() == key)) {
                    found.push(Record {
                        partition: message.partition(),
                        offset: message.offset(),
                        key: message.key().unwrap().to_vec(),
                        value: serde_json::from_slice(message.payload().unwrap_or_default()).expect("record value is JSON"),
                        has_headers: rdkafka::message::Message::headers(&message).is_some(),
                    });
                }
            }
            Some(Err(error)) => panic!("consumer error: {error}"),
            None => {}
        }
    }
    found.sort_by_key(|r| (r.partition, r.offset));
    found
}

/// GETs an object with a SigV4-signed request; answers (status, body).
pub fn s3_get(key_path: &str) -> (u16, Vec<u8>) {
    use aws_sigv4::http_request::{sign, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new("rustfsadmin", "rustfsadmin", None, None, "tests").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let mut request = http::Request::builder().uri(format!("{}/{}/{key_path}", s3_endpoint(), bucket())).body(()).unwrap();
    let uri = request.uri().to_string();
    let signable = SignableRequest::new("GET", &uri, std::iter::empty(), SignableBody::Bytes(&[])).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut request);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.run(request).expect("S3 GET");
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_vec().unwrap())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn url_component(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// An object key as it appears in a path-style URL (slashes kept).
pub fn url_path(key: &str) -> String {
    key.split('/').map(url_component).collect::<Vec<_>>().join("/")
}

pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(20))).build().into()
}

/// GET, answering (status, headers, body as JSON or string).
pub fn get(url: &str) -> (u16, http::HeaderMap, String) {
    let mut response = http().get(url).call().expect("GET");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.body_mut().read_to_string().unwrap())
}

pub fn post_json(url: &str, body: &str) -> (u16, Value) {
    let mut response = http().post(url).header("content-type", "application/json").send(body).expect("POST");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
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

/// A client text frame's bytes, masked with a zero key (so the payload reads as is),
/// for writing raw bytes to a WebSocket.
pub fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=65535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(payload);
    frame
}

/// Runs `scripts/local-stack.sh COMMAND`: the outage and stall tests stop,
/// start and freeze the local stack's brokers.
pub fn local_stack(command: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/local-stack.sh");
    let status = Command::new("bash").arg(script).arg(command).status().unwrap();
    assert!(status.success(), "local-stack.sh {command} failed");
}

/// Tests that stop or freeze a shared broker take turns on its lock (a test
/// that failed holding it does not block the others).
pub fn take_turn(broker: &'static Mutex<()>) -> MutexGuard<'static, ()> {
    broker.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
