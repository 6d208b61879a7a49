//! The stock `matyan-client` 0.3.0, unmodified, in the local stack's venv:
//! a process that streams metric points (`tests/client/stream_points.py`).

use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct StockClient(Child);

impl StockClient {
    /// Tracks `points` values of `loss`, steps 0.., `interval_ms` apart, then closes its run.
    pub fn stream_points(frontier_url: &str, points: usize, interval_ms: u64) -> Self {
        let python =
            std::env::var("MATYAN_STACK_PYTHON").expect("MATYAN_STACK_PYTHON is set by scripts/local-stack.sh env (run scripts/test.sh)");
        let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/client/stream_points.py");
        let child = Command::new(python)
            .args([driver, frontier_url, &points.to_string(), &interval_ms.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a stock client");
        Self(child)
    }

    /// Waits for it to finish; its report: `run_id`, `tracked`, and the transport's own counts (`sent`, `dropped`).
    pub fn report(self) -> Value {
        let output = self.0.wait_with_output().unwrap();
        assert!(output.status.success(), "client failed: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(output.stdout.trim_ascii()).expect("the driver prints one JSON line")
    }
}
