//! What operators watch: librdkafka's statistics and the answer latency as
//! metrics, and the shipped dashboard, whose every series must exist.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

const DASHBOARD: &str = include_str!("../../deploy/grafana/matyan-frontier.json");

/// The suffixes Prometheus adds to a histogram's name for its series.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

fn metric_family(series_name: &str) -> &str {
    HISTOGRAM_SUFFIXES.iter().find_map(|suffix| series_name.strip_suffix(suffix)).unwrap_or(series_name)
}

/// Every `matyan_…` metric an expression names, histogram suffixes stripped.
fn metric_names(expr: &str) -> impl Iterator<Item = &str> {
    expr.match_indices("matyan_").map(move |(start, _)| {
        let len = expr[start..].find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(expr.len() - start);
        metric_family(&expr[start..start + len])
    })
}

/// The metric names of every panel expression of the dashboard.
fn dashboard_metrics() -> BTreeSet<String> {
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let exprs = panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().into_iter().flatten())
        .map(|target| target["expr"].as_str().expect("expr"));
    exprs.flat_map(metric_names).map(String::from).collect()
}

/// The metric families on `/metrics/` that have at least one series.
fn exported_metrics(frontier: &Frontier) -> BTreeSet<String> {
    let (_, _, text) = get(&frontier.url("/metrics/"));
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(|name| metric_family(name).to_string())
        .collect()
}

/// Statistics every 200 ms, so that a test need not wait the default 5 s.
const FAST_STATISTICS: (&str, &str) = ("KAFKA_STATISTICS_INTERVAL_MS", "200");

/// Every series of the family `name` on `/metrics/`, as (labels, value).
fn series(frontier: &Frontier, name: &str) -> Vec<(String, f64)> {
    let (status, _, text) = get(&frontier.url("/metrics/"));
    assert_eq!(status, 200, "{text}");
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            let labels = key.strip_prefix(name)?;
            (labels.is_empty() || labels.starts_with('{')).then_some(())?;
            Some((labels.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Polls until `check` holds, or fails with what it saw last.
fn eventually(within: Duration, mut check: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + within;
    loop {
        match check() {
            Ok(()) => return,
            Err(last) if Instant::now() >= deadline => panic!("{last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn producer_statistics_and_answer_latency_are_metrics() {
    let frontier = Frontier::start(&[FAST_STATISTICS]);
    let mut ws = frontier.ws(&unique_run_id());
    for i in 0..20 {
        assert_eq!(ws.roundtrip(&format!(r#"{{"type":"add_tag","tag_name":"t{i}"}}"#)), ok_answer());
    }
    assert_eq!(ws.roundtrip("{not json")["status"], "error");

    // Twenty ok answers and one error, each within the client's 15 s wait.
    let count = |result: &str| frontier.metric(&format!(r#"matyan_ws_answer_latency_seconds_count{{result="{result}"}}"#));
    assert_eq!((count("ok"), count("error")), (Some(20.0), Some(1.0)));
    let sum = frontier.metric(r#"matyan_ws_answer_latency_seconds_sum{result="ok"}"#).unwrap();
    assert!(sum > 0.0 && sum < 20.0 * 15.0, "ok answers took {sum} s in all");

    eventually(Duration::from_secs(10), || {
        // Per broker id of the cluster (never the bootstrap address), p50 and p99, in seconds.
        let rtt = series(&frontier, "matyan_kafka_broker_rtt_seconds");
        let plausible = |q: &str| rtt.iter().any(|(labels, s)| labels.contains(&format!(r#"quantile="{q}""#)) && *s > 0.0 && *s < 5.0);
        if !(plausible("0.5") && plausible("0.99")) || rtt.iter().any(|(labels, _)| labels.contains(r#"broker="-1""#)) {
            return Err(format!("broker round trips: {rtt:?}"));
        }
        // Batches of at least one add_tag record, far below librdkafka's 1 MB default batch.
        let batch = frontier.metric("matyan_kafka_batch_size_bytes").unwrap_or(0.0);
        if !(30.0..1_000_000.0).contains(&batch) {
            return Err(format!("average batch size {batch} bytes"));
        }
        Ok(())
    });
    // Every frame was answered, so nothing waits in librdkafka's queue.
    eventually(Duration::from_secs(5), || {
        let queue = (frontier.metric("matyan_kafka_producer_queue_messages"), frontier.metric("matyan_kafka_producer_queue_bytes"));
        (queue == (Some(0.0), Some(0.0))).then_some(()).ok_or(format!("queue: {queue:?}"))
    });
    for counter in ["matyan_kafka_tx_errors_total", "matyan_kafka_rx_errors_total", "matyan_kafka_retries_total"] {
        assert_eq!(frontier.metric(counter), Some(0.0), "{counter} on a healthy broker");
    }
}

#[test]
fn statistics_off_leave_the_producer_series_empty() {
    let frontier = Frontier::start(&[("KAFKA_STATISTICS_INTERVAL_MS", "0")]);
    assert_eq!(frontier.ws(&unique_run_id()).roundtrip(r#"{"type":"add_tag","tag_name":"t"}"#), ok_answer());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(series(&frontier, "matyan_kafka_broker_rtt_seconds"), vec![], "no statistics, no round trips");
    assert_eq!(frontier.metric("matyan_kafka_batch_size_bytes"), Some(0.0));
}

#[test]
fn every_series_of_the_dashboard_is_exported() {
    let wanted = dashboard_metrics();
    // An expression that names nothing would make this test pass vacuously.
    for name in ["matyan_ws_frames_total", "matyan_ws_answer_latency_seconds", "matyan_kafka_broker_rtt_seconds", "matyan_inflight_bytes"] {
        assert!(wanted.contains(name), "the dashboard graphs {name}: {wanted:?}");
    }
    let frontier = Frontier::start(&[FAST_STATISTICS]);
    let mut ws = frontier.ws(&unique_run_id());
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"t"}"#), ok_answer());
    // A refused frame: answered `error`, counted `rejected`.
    assert_eq!(ws.roundtrip("{not json")["status"], "error");
    let presign = json!({"run_id": unique_run_id(), "artifact_path": "a.png", "content_type": "image/png"});
    assert_eq!(post_json(&frontier.url("/api/v1/rest/artifacts/presign"), &presign.to_string()).0, 200);
    assert_eq!(get(&frontier.url("/health/ready/")).0, 200);
    eventually(Duration::from_secs(10), || {
        let missing: Vec<_> = wanted.difference(&exported_metrics(&frontier)).cloned().collect();
        missing.is_empty().then_some(()).ok_or(format!("graphed by the dashboard, not on /metrics/: {missing:?}"))
    });
}

/// The fields every JSON log line has.
const LOG_FIELDS: [&str; 4] = ["timestamp", "level", "target", "message"];

#[test]
fn json_logs_are_one_object_a_line_through_startup_frames_an_outage_and_shutdown() {
    let _broker = DURABLE_BROKER.take_turn();
    let bootstrap = DURABLE_BROKER.bootstrap();
    // As in broker_outage: tansu cannot bump an idempotent producer's epoch after the restart.
    let mut frontier = Frontier::start(&[
        ("LOG_FORMAT", "json"),
        ("KAFKA_BOOTSTRAP_SERVERS", &bootstrap),
        ("KAFKA_PROPERTY_ENABLE_IDEMPOTENCE", "false"),
        ("KAFKA_ALLOW_UNSAFE_OVERRIDES", "true"),
    ]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(10));
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"t"}"#), ok_answer());
    assert_eq!(ws.roundtrip("{not json")["status"], "error");
    drop(ws);
    // A query string never reaches the logs.
    assert_eq!(get(&frontier.url("/health/live/?token=hunter2")).0, 200);

    DURABLE_BROKER.stop();
    wait_for_readiness(&frontier, 503, Duration::from_secs(15));
    DURABLE_BROKER.start();
    wait_for_readiness(&frontier, 200, Duration::from_secs(30));
    assert!(frontier.terminate().success());

    let lines: Vec<Value> = frontier
        .logs
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}")))
        .collect();
    for line in &lines {
        assert!(LOG_FIELDS.iter().all(|field| line[field].is_string()), "a field missing: {line}");
        assert!(!line.to_string().contains("hunter2"), "a query string in the logs: {line}");
    }
    let find = |what: &str, matches: &dyn Fn(&Value) -> bool| {
        lines.iter().find(|line| matches(line)).unwrap_or_else(|| panic!("no line for {what} in {lines:#?}"))
    };
    let message = |line: &Value| line["message"].as_str().unwrap_or_default().to_string();
    find("startup", &|line| message(line).contains("listening") || message(line).contains("starting"));
    let connected = find("a session", &|line| line["run"] == run_id.as_str() && message(line) == "connected");
    assert!(connected["conn"].is_string(), "{connected}");
    let refused = find("the refused frame", &|line| line["run"] == run_id.as_str() && message(line).starts_with("frame rejected: "));
    assert_eq!(refused["level"], "INFO");
    let access = find("an access line", &|line| line["path"] == "/health/live/");
    assert!(uuid::Uuid::parse_str(access["request_id"].as_str().unwrap()).is_ok(), "{access}");
    find("the broker down", &|line| line["level"] == "ERROR" && message(line).starts_with("librdkafka: "));
    find("shutdown", &|line| message(line).contains("shutting down"));
}
