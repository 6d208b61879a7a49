//! The downstream contract (issue 9): what the real consumers of our records
//! can read, and what matyan-core's own integration tests check.
//!
//! - The real `matyan-client` 0.3.0 writes one run with every message type it
//!   can emit, and `tests/client/downstream_contract.py` reads it back exactly
//!   as matyan-backend 0.3.0's ingestion worker does: aiokafka 0.13.0 without
//!   compression extras, `value_deserializer=lambda v: v.decode()`,
//!   `IngestionMessage.model_validate_json` (matyan-api-models 0.2.1), and the
//!   payload keys the worker's handlers index. Every record batch must be
//!   uncompressed: lz4 (or snappy, zstd) is unreadable for that worker.
//! - matyan-core's `tests/integration/test_frontier_kafka.py` and its
//!   `conftest.py`: the frontier counts as up when `GET /docs` answers 200; an
//!   aiokafka consumer with `auto_offset_reset="latest"` and no group sees
//!   create_run … finish_run; presign answers `upload_url` and `s3_key`.
//!
//! The Python side runs in the local stack's venv (`MATYAN_STACK_PYTHON`),
//! where `scripts/local-stack.sh` installs those exact versions.

use std::process::Command;
use std::time::Duration;

use crate::support::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/client/downstream_contract.py");

/// Runs the script in `mode`; its last stdout line, parsed.
fn run_script(mode: &str, frontier: &Frontier, topic: &str) -> Value {
    let python =
        std::env::var("MATYAN_STACK_PYTHON").expect("MATYAN_STACK_PYTHON is set by scripts/local-stack.sh env (run scripts/test.sh)");
    let output = Command::new(python)
        .arg(SCRIPT)
        .arg(mode)
        .arg(frontier.url(""))
        .arg(kafka_bootstrap())
        .arg(topic)
        .output()
        .expect("run the Python side");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{mode} failed:\n{stderr}\nstdout:\n{stdout}\nfrontier log:\n{}", frontier.log_text());
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {stdout}"))
}

/// A new topic with the local stack's partition count.
fn create_topic(name: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", kafka_bootstrap()).create().expect("admin client");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let topics = [NewTopic::new(name, PARTITIONS, TopicReplication::Fixed(1))];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in runtime.block_on(admin.create_topics(&topics, &options)).expect("CreateTopics") {
        result.unwrap_or_else(|(topic, code)| panic!("creating {topic}: {code}"));
    }
}

#[test]
fn the_030_ingestion_worker_reads_every_record_of_a_real_client_run() {
    // The worker reads its topic from the earliest offset: a topic of its own
    // holds only this run's records (the shared one has every other test's).
    let topic = format!("contract-{}", unique_run_id());
    create_topic(&topic);
    // Default settings: whatever codec the gateway picks by default is what we test.
    let frontier = Frontier::start(&[("KAFKA_DATA_INGESTION_TOPIC", &topic)]);
    let report = run_script("worker", &frontier, &topic);

    let counts = &report["counts"];
    for kind in [
        "create_run",
        "set_run_property",
        "log_hparams",
        "log_metric",
        "log_custom_object",
        "blob_ref",
        "add_tag",
        "remove_tag",
        "log_record",
        "log_terminal_line",
        "finish_run",
    ] {
        assert!(counts[kind].as_u64().unwrap_or(0) > 0, "no {kind} read: {report}");
    }
    assert!(report["batches"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["batch_codecs"], serde_json::json!([0]), "batch codec is none: {report}");

    // The image the client uploaded through the presigned URL is in S3 under the key of its blob_ref.
    let image: Vec<u8> = (0..report["image_hex"].as_str().unwrap().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&report["image_hex"].as_str().unwrap()[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(s3_get(report["s3_key"].as_str().unwrap()), (200, image));
}

/// conftest.py's `_frontier_available`: without it, upstream skips every frontier test.
#[test]
fn upstream_probe_docs_answers_200() {
    let frontier = Frontier::start(&[]);
    let (status, _, body) = get(&frontier.url("/docs"));
    assert_eq!(status, 200, "GET /docs: {body}");
}

/// test_frontier_presign_returns_upload_url, with its body.
#[test]
fn upstream_presign_answers_upload_url_and_s3_key() {
    let frontier = Frontier::start(&[]);
    let run_id = format!("integration-{}", &unique_run_id()[..12]);
    let body = serde_json::json!({"run_id": run_id, "artifact_path": "images/test.png", "content_type": "image/png"});
    let (status, answer) = post_json(&frontier.url("/api/v1/rest/artifacts/presign"), &body.to_string());
    assert_eq!(status, 200, "{answer}");
    assert!(answer["upload_url"].as_str().is_some_and(|url| !url.is_empty()), "{answer}");
    assert_eq!(answer["s3_key"], format!("{run_id}/images/test.png"), "{answer}");
}

/// test_frontier_ws_messages_appear_on_kafka: a consumer started before the
/// run, at the latest offsets and without a group, on the shared topic.
#[test]
fn upstream_latest_consumer_without_group_reads_create_run_to_finish_run() {
    let frontier = Frontier::start(&[]);
    let report = run_script("latest", &frontier, &topic());
    assert_eq!(report["types"], serde_json::json!(["create_run", "log_metric", "log_hparams", "finish_run"]), "{report}");
}
