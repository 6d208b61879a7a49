//! Presign requests against a fake store: the key and URL come back, bad
//! ids get 400, malformed bodies 422 naming the field, large ones 413.

use serde_json::{json, Value};

use super::fakes::{FakeProducer, FakeStore};
use super::gateway::TestGateway;

const PRESIGN: &str = "/api/v1/rest/artifacts/presign";

fn presign(gateway: &TestGateway, content_type: &str, body: String) -> (u16, Value) {
    let (status, _, text) = gateway.send(gateway.request("POST", PRESIGN).header("content-type", content_type).body(body).unwrap());
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[test]
fn the_store_signs_the_run_scoped_key_with_the_default_content_type() {
    let gateway = TestGateway::start(&[("S3_PRESIGN_EXPIRY", "60")], FakeProducer::acking(), FakeStore::healthy());
    let (status, answer) = presign(&gateway, "application/json", json!({"run_id": "r1", "artifact_path": "images/a.png"}).to_string());
    let url = format!("{}/r1/images/a.png?content-type=application/octet-stream&expires=60", FakeStore::URL);
    assert_eq!((status, answer), (200, json!({"upload_url": url, "s3_key": "r1/images/a.png", "headers": null})));
}

#[test]
fn bad_ids_get_400_naming_the_rule() {
    let gateway = TestGateway::start(&[], FakeProducer::acking(), FakeStore::healthy());
    for (body, expected) in [
        (json!({"run_id": "..", "artifact_path": "a"}), "run_id must not contain"),
        (json!({"run_id": "", "artifact_path": "a"}), "run_id must not be empty"),
        (json!({"run_id": "r", "artifact_path": "../other-run/x"}), "artifact_path must be relative"),
        (json!({"run_id": "r", "artifact_path": "x".repeat(1100)}), "longer than 1024 bytes"),
        (json!({"run_id": "r", "artifact_path": "a", "content_type": "text/plain\r\nX-Evil: 1"}), "content_type must be"),
    ] {
        let (status, answer) = presign(&gateway, "application/json", body.to_string());
        assert_eq!(status, 400, "{body}");
        assert!(answer["detail"].as_str().unwrap().contains(expected), "{body}: {answer}");
    }
}

#[test]
fn malformed_bodies_get_422_naming_the_field_and_large_ones_413() {
    let gateway = TestGateway::start(&[], FakeProducer::acking(), FakeStore::healthy());
    let (status, answer) = presign(&gateway, "application/json", json!({"artifact_path": 7}).to_string());
    assert_eq!(status, 422);
    assert_eq!(answer["detail"][0], json!({"loc": ["body", "run_id"], "msg": "Field required", "type": "missing"}));
    assert_eq!(answer["detail"][1]["loc"], json!(["body", "artifact_path"]));
    assert_eq!(presign(&gateway, "application/json", "{oops".into()).1["detail"][0]["type"], "json_invalid");
    let valid = json!({"run_id": "r", "artifact_path": "a"}).to_string();
    assert_eq!(presign(&gateway, "text/plain", valid).1["detail"][0]["type"], "model_attributes_type");
    let large = json!({"run_id": "r", "artifact_path": "x".repeat(100_000)}).to_string();
    assert_eq!(presign(&gateway, "application/json", large).0, 413);
}
