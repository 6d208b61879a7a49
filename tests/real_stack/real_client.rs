//! The real Python client (`matyan-client` 0.3.0, installed by the local
//! stack) drives a short run through the frontier: what lands in Kafka and S3
//! is what the workers expect.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use crate::support::*;
use serde_json::Value;

#[test]
fn a_real_client_run_lands_in_kafka_and_s3() {
    let python =
        std::env::var("MATYAN_STACK_PYTHON").expect("MATYAN_STACK_PYTHON is set by scripts/local-stack.sh env (run scripts/test.sh)");
    let frontier = Frontier::start(&[]);
    let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/client/drive_real_client.py");
    let output = Command::new(python).arg(driver).arg(frontier.url("")).output().expect("run the Python client");
    assert!(output.status.success(), "client failed: {}", String::from_utf8_lossy(&output.stderr));
    let sent: Value = serde_json::from_slice(output.stdout.trim_ascii()).expect("driver prints one JSON line");
    let run_id = sent["run_id"].as_str().unwrap();

    let expected_types = [
        ("create_run", 1),
        ("set_run_property", 1),
        ("log_hparams", 1),
        ("log_metric", 4),
        ("add_tag", 1),
        ("log_custom_object", 1),
        ("blob_ref", 1),
        ("finish_run", 1),
    ];
    let total = expected_types.iter().map(|(_, n)| n).sum();
    let records = records_for(run_id, total, Duration::from_secs(20));
    let mut counts = BTreeMap::new();
    for record in &records {
        *counts.entry(record.value["type"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    assert_eq!(counts, expected_types.iter().map(|(t, n)| (t.to_string(), *n)).collect(), "{records:#?}");
    assert!(records.iter().all(|r| r.partition == records[0].partition), "one run, one partition");
    assert_eq!(records.first().unwrap().value["type"], "create_run");
    assert_eq!(records.last().unwrap().value["type"], "finish_run");

    let losses: Vec<&Value> = records.iter().filter(|r| r.value["type"] == "log_metric").map(|r| &r.value["payload"]["value"]).collect();
    assert_eq!(losses, [&Value::from(1.0), &Value::from(0.5), &Value::from(0.25), &Value::Null], "NaN is published as null");

    let blob = records.iter().find(|r| r.value["type"] == "blob_ref").unwrap();
    let key = blob.value["payload"]["s3_key"].as_str().unwrap();
    assert!(key.starts_with(&format!("{run_id}/")), "{key}");
    assert_eq!(blob.value["payload"]["content_type"], "image/png");
    let image: Vec<u8> = sent["image_bytes"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect();
    assert_eq!(s3_get(key), (200, image), "the uploaded object holds the image bytes");
}
