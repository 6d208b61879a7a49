//! The processes a phase drives: a gateway binary started on a port of
//! 127.0.0.1, or the Python reference through its script; and the fresh topic
//! each phase writes to. A `Server` stops its process when dropped, so a
//! failing phase leaves nothing running.

use std::fs::File;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use matyan_actors::kafka_producer::Compression;

const REFERENCE_SCRIPT: &str = "scripts/reference-frontier.sh";

pub struct Server {
    pid: u32,
    process: Process,
}

enum Process {
    Gateway { child: Child, log: PathBuf },
    Reference,
}

impl Server {
    /// `binary start` at its defaults but for the topic, the codec and a quiet log.
    pub fn gateway(binary: &Path, port: u16, topic: &str, compression: Compression) -> Server {
        let log = std::env::temp_dir().join(format!("loadgen-gateway-{}.log", std::process::id()));
        let log_file = File::create(&log).expect("gateway log");
        let child = Command::new(binary)
            .arg("start")
            .envs([
                ("HOST", "127.0.0.1"),
                ("PORT", &port.to_string()),
                ("KAFKA_DATA_INGESTION_TOPIC", topic),
                ("KAFKA_COMPRESSION_TYPE", compression.as_str()),
                ("LOG_LEVEL", "WARNING"),
            ])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("gateway log"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let mut server = Server { pid: child.id(), process: Process::Gateway { child, log } };
        server.wait_for_port(port);
        server
    }

    /// The reference on `port`, writing to `topic`; the script waits until it is live.
    pub fn reference(port: u16, topic: &str) -> Server {
        let output = Command::new("bash")
            .args([REFERENCE_SCRIPT, "start", &port.to_string()])
            .envs([("KAFKA_DATA_INGESTION_TOPIC", topic), ("LOG_LEVEL", "WARNING")])
            .stderr(Stdio::inherit())
            .output()
            .expect("run the reference script");
        assert!(output.status.success(), "the reference did not start");
        let pid = String::from_utf8_lossy(&output.stdout).trim().parse().expect("the reference's pid");
        Server { pid, process: Process::Reference }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn wait_for_port(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Process::Gateway { child, log } = &mut self.process {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("the gateway exited ({status}):\n{}", std::fs::read_to_string(log).unwrap_or_default());
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("nothing listens on port {port} after 10 s");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.process {
            // SIGTERM, its graceful shutdown: everything acked is in Kafka already.
            Process::Gateway { child, log } => {
                let _ = Command::new("kill").arg(self.pid.to_string()).status();
                let _ = child.wait();
                let _ = std::fs::remove_file(log);
            }
            Process::Reference => {
                let _ = Command::new("bash").args([REFERENCE_SCRIPT, "stop"]).stderr(Stdio::null()).status();
            }
        }
    }
}

/// A new topic of 6 partitions (the local stack's count), named after the phase.
pub fn new_topic(stack_bin: &Path, bootstrap: &str, phase: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let topic = format!("bench-{phase}-{nanos}");
    let status = Command::new(stack_bin.join("tansu"))
        .args(["topic", "create", "--broker", &format!("tcp://{bootstrap}"), "--partitions", "6", &topic])
        .stdout(Stdio::null())
        .status()
        .expect("run tansu");
    assert!(status.success(), "tansu could not create topic {topic}");
    topic
}
