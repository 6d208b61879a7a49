//! Tenant boundaries on the message path: with authentication on, a message
//! names only its own run's objects, as presign signs only those. A token
//! bound to `team-a-` cannot attach `team-b-run/model.bin` to its run.

use std::time::Duration;

use crate::support::*;
use serde_json::{json, Value};

const TOKENS: &str = "team-token:team-a-";

fn blob_ref(key: &str) -> String {
    json!({"type": "blob_ref", "s3_key": key, "artifact_path": "model.bin", "content_type": "application/octet-stream"}).to_string()
}

fn image(key: &str) -> String {
    json!({"type": "log_custom_object", "name": "img", "step": 0, "value": {"type": "image", "format": "png", "s3_key": key}}).to_string()
}

/// The key presign gives `run_id`'s `artifact_path`.
fn presigned_key(frontier: &Frontier, run_id: &str, artifact_path: &str) -> String {
    let mut response = http()
        .post(&frontier.url("/api/v1/rest/artifacts/presign"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer team-token")
        .send(json!({"run_id": run_id, "artifact_path": artifact_path}).to_string())
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    body["s3_key"].as_str().unwrap().to_string()
}

/// Each frame gets: an error naming the key when it names another run's
/// object or climbs out of its own (`..`, a leading `/`, `\` separators,
/// percent-encoded ones), and nothing of it reaches Kafka; `ok` for the keys
/// presign gave this run.
#[test]
fn a_token_bound_to_a_prefix_cannot_attach_another_runs_objects() {
    let frontier = Frontier::start(&[("AUTH_TOKENS", TOKENS)]);
    let run_id = format!("team-a-{}", unique_run_id());
    let mut ws = upgrade(&frontier.ws_url(&run_id), Some("team-token")).expect("upgrade with the team's token");
    let foreign = [
        blob_ref("team-b-run/model.bin"),
        blob_ref(&format!("{run_id}/../team-b-run/model.bin")),
        blob_ref(&format!("{run_id}//team-b-run/model.bin")),
        blob_ref(&format!("{run_id}/..\\team-b-run\\model.bin")),
        blob_ref(&format!("{run_id}/%2e%2e/team-b-run/model.bin")),
        image("team-b-run/seq/img/0.png"),
        // One foreign key refuses the whole frame.
        format!("[{},{}]", blob_ref(&format!("{run_id}/model.bin")), image("team-b-run/seq/img/0.png")),
    ];
    for frame in &foreign {
        let answer = ws.roundtrip(frame);
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(answer["status"] == "error" && error.contains("is not an object key of this run"), "{frame}: {answer}");
    }
    let model = presigned_key(&frontier, &run_id, "model.bin");
    let picture = presigned_key(&frontier, &run_id, "seq/img/0.png");
    assert_eq!(ws.roundtrip(&format!("[{},{}]", blob_ref(&model), image(&picture))), ok_answer());

    let records = records_for(&run_id, 2, Duration::from_secs(20));
    let published: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            let payload = &r.value["payload"];
            (r.value["type"].as_str().unwrap(), payload["s3_key"].as_str().or(payload["value"]["s3_key"].as_str()).unwrap())
        })
        .collect();
    assert_eq!(published, [("blob_ref", model.as_str()), ("log_custom_object", picture.as_str())], "only the run's own keys");
    assert!(frontier.log_text().contains("is not an object key of this run"), "refusals are logged");
}

/// Without authentication, as the reference: any key is published as sent.
#[test]
fn without_authentication_any_key_is_published() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(&blob_ref("team-b-run/model.bin")), ok_answer());
    let records = records_for(&run_id, 1, Duration::from_secs(20));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].value["payload"]["s3_key"], "team-b-run/model.bin");
}
