//! The WebSocket load: one thread per connection, stop-and-wait like the client.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::server_stats::{self, ProcessStats};
use crate::LoadShape;

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// A frame as matyan-client 0.3.0 sends it: `json.dumps` of its batch
/// (spaced separators), `log_metric` messages of about 250 bytes each.
pub fn client_frame(run_id: &str, batch: usize, first_step: usize) -> String {
    let messages: Vec<String> = (0..batch)
        .map(|i| {
            let step = first_step + i;
            format!(
                r#"{{"type": "log_metric", "run_id": "{run_id}", "name": "train/loss", "value": {}, "step": {step}, "epoch": {}, "context": {{"subset": "train", "head": "main"}}, "dtype": "float", "client_datetime": "2026-11-26T10:00:00.123456+00:00"}}"#,
                1.0 / (step as f64 + 1.5),
                step / 1000
            )
        })
        .collect();
    if batch == 1 {
        messages.into_iter().next().unwrap()
    } else {
        format!("[{}]", messages.join(", "))
    }
}

pub fn run_prefix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{:016x}", nanos as u64)
}

fn connect(url: &str, run_id: &str) -> Socket {
    let target = format!("{}/api/v1/ws/runs/{run_id}", url.trim_end_matches('/'));
    for attempt in 0.. {
        match tungstenite::connect(&target) {
            Ok((socket, _)) => return socket,
            Err(error) if attempt < 50 => {
                let _ = error;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => panic!("cannot connect to {target}: {error}"),
        }
    }
    unreachable!()
}

struct ConnectionResult {
    acked_messages: u64,
    frames: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

fn drive(url: &str, run_id: &str, shape: &LoadShape, start: Instant) -> ConnectionResult {
    let mut socket = connect(url, run_id);
    let mut result = ConnectionResult { acked_messages: 0, frames: 0, errors: 0, latencies_us: Vec::new() };
    let frame = client_frame(run_id, shape.batch, 0);
    let deadline = start + shape.duration();
    while Instant::now() < deadline {
        let sent = Instant::now();
        if socket.send(Message::text(frame.as_str())).is_err() {
            result.errors += 1;
            break;
        }
        let answer = loop {
            match socket.read() {
                Ok(Message::Text(text)) => break Some(text),
                Ok(_) => continue,
                Err(_) => break None,
            }
        };
        result.frames += 1;
        result.latencies_us.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        match answer {
            Some(text) if text.contains(r#""status":"ok""#) || text.contains(r#""status": "ok""#) => {
                result.acked_messages += shape.batch as u64
            }
            Some(_) => result.errors += 1,
            None => {
                result.errors += 1;
                break;
            }
        }
        if shape.pause_ms > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(shape.pause_ms / 1000.0));
        }
    }
    let _ = socket.close(None);
    result
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index] as f64 / 1000.0
}

pub fn run_ws(
    url: &str,
    shape: &LoadShape,
    server_pid: Option<u32>,
    bootstrap: Option<&str>,
    topic: &str,
    label: &str,
) -> serde_json::Value {
    let prefix = run_prefix();
    let before = server_pid.map(server_stats::read).unwrap_or_default();
    let start = Instant::now();
    let handles: Vec<_> = (0..shape.connections)
        .map(|i| {
            let (url, run_id, shape) = (url.to_string(), format!("{prefix}{i:08x}"), shape.clone());
            std::thread::spawn(move || drive(&url, &run_id, &shape, start))
        })
        .collect();
    let results: Vec<ConnectionResult> = handles.into_iter().map(|h| h.join().expect("connection thread")).collect();
    let elapsed = start.elapsed().as_secs_f64();
    let after = server_pid.map(server_stats::read).unwrap_or_default();
    let acked: u64 = results.iter().map(|r| r.acked_messages).sum();
    let frames: u64 = results.iter().map(|r| r.frames).sum();
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    let mut latencies: Vec<u32> = results.into_iter().flat_map(|r| r.latencies_us).collect();
    latencies.sort_unstable();
    let in_kafka = bootstrap.map(|b| crate::kafka_count::count(b, topic, &prefix));
    json!({
        "mode": "ws", "label": label, "connections": shape.connections, "batch": shape.batch, "seconds": elapsed, "pause_ms": shape.pause_ms,
        "acked_messages": acked, "frames": frames, "errors": errors,
        "messages_per_second": acked as f64 / elapsed,
        "latency_ms": {"p50": percentile(&latencies, 0.5), "p99": percentile(&latencies, 0.99), "p999": percentile(&latencies, 0.999)},
        "server": server_json(before, after, elapsed),
        "records_in_kafka": in_kafka,
        "records_match": in_kafka.map(|n| n == acked),
    })
}

fn server_json(before: ProcessStats, after: ProcessStats, elapsed: f64) -> serde_json::Value {
    json!({"rss_kib": after.rss_kib, "cpu_seconds": after.cpu_seconds - before.cpu_seconds, "cpu_cores_used": (after.cpu_seconds - before.cpu_seconds) / elapsed})
}

pub fn run_idle(url: &str, connections: usize, server_pid: u32, label: &str) -> serde_json::Value {
    let prefix = run_prefix();
    let before = server_stats::read(server_pid);
    let started = Instant::now();
    let sockets: Vec<Socket> = (0..connections).map(|i| connect(url, &format!("{prefix}{i:08x}"))).collect();
    // Let the server settle (allocations made lazily after the upgrade).
    std::thread::sleep(Duration::from_secs(2));
    let after = server_stats::read(server_pid);
    let open_seconds = started.elapsed().as_secs_f64();
    drop(sockets);
    let growth = after.rss_kib.saturating_sub(before.rss_kib);
    json!({
        "mode": "idle", "label": label, "connections": connections, "seconds_to_open": open_seconds,
        "rss_kib_before": before.rss_kib, "rss_kib_after": after.rss_kib,
        "rss_kib_per_connection": growth as f64 / connections as f64,
    })
}
