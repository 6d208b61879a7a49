//! The WebSocket load: one thread per connection, stop-and-wait like the client.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::proc_stats;
use crate::result::{Idle, Latencies, Phase, Subject};
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

/// Drives `shape` against the gateway on `url` (process `server_pid`), then reads
/// the phase's records back from `topic`.
pub fn run_ws(url: &str, shape: &LoadShape, subject: Subject, server_pid: u32, bootstrap: &str, topic: &str, codec: &'static str) -> Phase {
    let prefix = run_prefix();
    let before = proc_stats::read(server_pid);
    let start = Instant::now();
    let handles: Vec<_> = (0..shape.connections)
        .map(|i| {
            let (url, run_id, shape) = (url.to_string(), format!("{prefix}{i:08x}"), shape.clone());
            std::thread::spawn(move || drive(&url, &run_id, &shape, start))
        })
        .collect();
    let results: Vec<ConnectionResult> = handles.into_iter().map(|h| h.join().expect("connection thread")).collect();
    let elapsed = start.elapsed();
    let after = proc_stats::read(server_pid);
    let acked_messages = results.iter().map(|r| r.acked_messages).sum();
    let errors = results.iter().map(|r| r.errors).sum();
    let latencies = results.into_iter().flat_map(|r| r.latencies_us).collect();
    Phase {
        subject,
        shape: shape.clone(),
        codec,
        elapsed,
        acked_messages,
        errors,
        latency: Latencies::from_micros(latencies),
        cpu: after.cpu.saturating_sub(before.cpu),
        records_in_kafka: Some(crate::kafka_count::count(bootstrap, topic, &prefix)),
    }
}

/// Opens `connections` sockets that send nothing: the gateway's memory per connection.
pub fn run_idle(url: &str, connections: usize, subject: Subject, server_pid: u32) -> Idle {
    let prefix = run_prefix();
    let before = proc_stats::read(server_pid);
    let started = Instant::now();
    let sockets: Vec<Socket> = (0..connections).map(|i| connect(url, &format!("{prefix}{i:08x}"))).collect();
    // Let the server settle (allocations made lazily after the upgrade).
    std::thread::sleep(Duration::from_secs(2));
    let after = proc_stats::read(server_pid);
    let time_to_open = started.elapsed();
    drop(sockets);
    Idle { subject, connections, time_to_open, rss_kib_before: before.rss_kib, rss_kib_after: after.rss_kib }
}
