//! The benchmark's table, its legend and the machine it ran on.

use crate::bench::Results;
use crate::result::{Phase, Subject};

const LEGEND: &str = "\
- load: connections × messages per frame (about 250 bytes each, shaped like matyan-client 0.3.0's \
`log_metric`), stop-and-wait: each connection sends a frame and waits for its answer; a pause, where \
given, is slept between frames. codec: the record batches' compression.
- msgs/s: messages acknowledged per second of the phase. ours ÷ this: our figure divided by the row's \
(above 1: we do more, or, for CPU, spend more).
- latency: from sending a frame to reading its answer (the ceiling: from the batch's first send to \
its last delivery report).
- CPU µs/msg: CPU time spent during the phase divided by the messages acknowledged. For a gateway and \
the reference: utime + stime of the whole server process (every thread; /proc/PID/stat, 10 ms ticks). \
For the raw producer, which runs inside the load generator: its own threads only (/proc/self/task/*/schedstat): \
librdkafka's threads, the polling thread that runs the delivery reports and each run's send-and-wait \
loop; not building the records, not the load generator's other threads. The load generator's own \
WebSocket work is never counted. CPU cores: that CPU time per second of the phase.
- Kafka == acked: the phase's fresh topic read back holds exactly the acknowledged messages; \
the ceiling is not read back (–). The broker, the subject and the load generator share the machine.";

pub fn print(results: &Results) {
    println!("Machine: {}\n", machine());
    println!(
        "| load | codec | measured | msgs/s | msgs/s: ours ÷ this | latency p50 / p99 / p99.9 ms | CPU µs/msg | CPU: ours ÷ this | CPU cores | errors | Kafka == acked |"
    );
    println!("|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|");
    for phase in &results.phases {
        let ours = results.phases.iter().find(|p| p.subject == Subject::Ours && same_load(p, phase));
        println!("{}", row(phase, ours));
    }
    if !results.idle.is_empty() {
        println!();
    }
    for idle in &results.idle {
        println!(
            "Idle, {}: {} connections open in {:.1} s, server RSS {} KiB -> {} KiB, {:.1} KiB per connection",
            idle.subject,
            idle.connections,
            idle.time_to_open.as_secs_f64(),
            thousands(idle.rss_kib_before as f64),
            thousands(idle.rss_kib_after as f64),
            idle.rss_kib_per_connection()
        );
    }
    println!("\n{LEGEND}\n");
    let failed: Vec<&Phase> = results.phases.iter().filter(|p| !p.is_correct()).collect();
    for phase in &failed {
        println!(
            "FAILED {} at {}: {} acked, {} errors, {} in Kafka",
            phase.subject,
            load(phase),
            phase.acked_messages,
            phase.errors,
            phase.records_in_kafka.map_or("not read".into(), |n| n.to_string())
        );
    }
    println!("checks: {} phases correct, {} failed", results.phases.len() - failed.len(), failed.len());
}

pub fn all_correct(results: &Results) -> bool {
    results.phases.iter().all(Phase::is_correct)
}

fn same_load(a: &Phase, b: &Phase) -> bool {
    a.shape.connections == b.shape.connections
        && a.shape.batch == b.shape.batch
        && a.shape.pause_ms == b.shape.pause_ms
        && a.codec == b.codec
}

fn row(phase: &Phase, ours: Option<&Phase>) -> String {
    let ratio = |ours: Option<f64>, this: Option<f64>| match (ours, this) {
        (Some(ours), Some(this)) if this > 0.0 => format!("{:.2}x", ours / this),
        _ => "–".into(),
    };
    let ours = ours.filter(|ours| ours.subject != phase.subject);
    let latency = phase.latency;
    format!(
        "| {} | {} | {} | {} | {} | {:.1} / {:.1} / {:.1} | {} | {} | {:.2} | {} | {} |",
        load(phase),
        phase.codec,
        phase.subject,
        thousands(phase.messages_per_second()),
        ratio(ours.map(Phase::messages_per_second), Some(phase.messages_per_second())),
        latency.p50,
        latency.p99,
        latency.p999,
        phase.cpu_micros_per_message().map_or("–".into(), |micros| format!("{micros:.2}")),
        ratio(ours.and_then(Phase::cpu_micros_per_message), phase.cpu_micros_per_message()),
        phase.cpu_cores(),
        phase.errors,
        match phase.records_in_kafka {
            None => "–",
            Some(n) if n == phase.acked_messages => "yes",
            Some(_) => "NO",
        }
    )
}

fn load(phase: &Phase) -> String {
    let shape = &phase.shape;
    match shape.pause_ms {
        0.0 => format!("{} × {}", shape.connections, shape.batch),
        pause => format!("{} × {}, {pause:.1} ms pauses", shape.connections, shape.batch),
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':').map(|(_, model)| model.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores, {model}, Linux {}; broker (Tansu, memory), gateway and load generator on the same machine", kernel.trim())
}
