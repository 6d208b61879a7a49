//! Stops, starts and freezes the local stack's brokers, which
//! `scripts/local-stack.sh up` started: their pid files name the processes.
//! Also compiled into `actors/tests/producer_recovery.rs`, which freezes the
//! stall broker.
//!
//! All real-stack tests are one binary and the harness runs them on parallel
//! threads. A test that stops or freezes a broker holds that broker's turn for
//! its whole length, and every test that uses the broker takes the turn first,
//! so no test sees another's outage; tests on other brokers run alongside.
//! (`producer_recovery` is another binary: cargo runs binaries one at a time.)

use std::fs::{self, OpenOptions};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A broker of the local stack.
pub struct Broker {
    /// The name of its pid and log files in the stack's run directory.
    name: &'static str,
    /// The variable `local-stack.sh env` sets to its address, and the address without it.
    address_var: &'static str,
    default_address: &'static str,
    /// Its build in the stack's `bin` directory, and the storage it runs on.
    program: &'static str,
    storage: fn() -> String,
    turn: Mutex<()>,
}

fn sqlite_storage() -> String {
    "sqlite://tansu.db".into()
}

fn memory_storage() -> String {
    "memory://tansu/".into()
}

fn cluster_storage() -> String {
    std::env::var("MATYAN_CLUSTER_STORAGE").expect("MATYAN_CLUSTER_STORAGE is set by scripts/local-stack.sh env (run scripts/test.sh)")
}

/// The second memory broker, frozen by the stall tests.
pub static STALL_BROKER: Broker = Broker {
    name: "tansu-stall",
    address_var: "MATYAN_STALL_KAFKA",
    default_address: "127.0.0.1:9096",
    program: "tansu",
    storage: memory_storage,
    turn: Mutex::new(()),
};

/// The sqlite broker, stopped and restarted by the outage tests: its records survive.
pub static DURABLE_BROKER: Broker = Broker {
    name: "tansu-durable",
    address_var: "MATYAN_DURABLE_KAFKA",
    default_address: "127.0.0.1:9094",
    program: "tansu-sqlite",
    storage: sqlite_storage,
    turn: Mutex::new(()),
};

/// The two brokers of the cluster over PostgreSQL: stateless, so either restarts
/// while the other serves. The fleet tests take both turns (A first).
pub static CLUSTER_BROKER_A: Broker = Broker {
    name: "tansu-cluster-a",
    address_var: "MATYAN_CLUSTER_KAFKA_A",
    default_address: "127.0.0.1:19192",
    program: "tansu-postgres",
    storage: cluster_storage,
    turn: Mutex::new(()),
};
pub static CLUSTER_BROKER_B: Broker = Broker {
    name: "tansu-cluster-b",
    address_var: "MATYAN_CLUSTER_KAFKA_B",
    default_address: "127.0.0.1:19193",
    program: "tansu-postgres",
    storage: cluster_storage,
    turn: Mutex::new(()),
};

fn stack_dir(var: &str) -> PathBuf {
    std::env::var_os(var).unwrap_or_else(|| panic!("{var} is set by scripts/local-stack.sh env (run scripts/test.sh)")).into()
}

fn signal(pid: &str, signal: &str) -> bool {
    Command::new("kill").arg(format!("-{signal}")).arg(pid).stderr(Stdio::null()).status().unwrap().success()
}

impl Broker {
    pub fn bootstrap(&self) -> String {
        std::env::var(self.address_var).unwrap_or_else(|_| self.default_address.into())
    }

    /// Waits for this broker's turn; a test that failed holding it does not block the others.
    pub fn take_turn(&'static self) -> MutexGuard<'static, ()> {
        self.turn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn pid_file(&self) -> PathBuf {
        stack_dir("MATYAN_STACK_RUN").join(format!("{}.pid", self.name))
    }

    fn pid(&self) -> String {
        let file = self.pid_file();
        fs::read_to_string(&file).unwrap_or_else(|e| panic!("{} is not running ({}: {e})", self.name, file.display())).trim().to_owned()
    }

    /// SIGSTOP: connections stay open and requests go unanswered, as in a GC
    /// pause or a network stall, until the guard is dropped (even by a failed assertion).
    pub fn freeze(&self) -> Frozen<'_> {
        assert!(signal(&self.pid(), "STOP"), "cannot freeze {}", self.name);
        Frozen(self)
    }

    /// SIGTERM, then SIGKILL if it is still there after 10 s.
    pub fn stop(&self) {
        let pid = self.pid();
        signal(&pid, "TERM");
        // A frozen broker only sees the SIGTERM once it runs again.
        signal(&pid, "CONT");
        let deadline = Instant::now() + Duration::from_secs(10);
        while signal(&pid, "0") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Only if it is still there: once it exited, its pid may already belong to another test's process.
        if signal(&pid, "0") {
            signal(&pid, "KILL");
        }
        fs::remove_file(self.pid_file()).unwrap();
    }

    /// Starts the stopped broker again on its storage, as `local-stack.sh`
    /// starts it (same command, directory, log and pid file), and waits until it listens.
    pub fn start(&self) {
        let address = self.bootstrap();
        let run = stack_dir("MATYAN_STACK_RUN");
        let log = OpenOptions::new().create(true).append(true).open(run.join(format!("{}.log", self.name))).unwrap();
        let listener = format!("tcp://{address}");
        let mut broker = Command::new(stack_dir("MATYAN_STACK_BIN").join(self.program))
            .args(["broker", "--listener-url", &listener, "--advertised-listener-url", &listener, "--storage-engine", &(self.storage)()])
            // The sqlite path is relative to the working directory.
            .current_dir(run.join(self.name))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name));
        fs::write(self.pid_file(), broker.id().to_string()).unwrap();
        // Reaped when it exits, so `stop` sees it gone rather than a zombie.
        std::thread::spawn(move || broker.wait());
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < deadline, "{} did not listen on {address} within 30 s", self.name);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A frozen broker, resumed (SIGCONT) when dropped.
pub struct Frozen<'a>(&'a Broker);

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        signal(&self.0.pid(), "CONT");
    }
}
