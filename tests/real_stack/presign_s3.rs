//! Presign against a real S3 server (SeaweedFS verifies SigV4): the returned
//! URL uploads exactly the bytes to exactly the key, and nothing else passes.

use crate::support::*;
use serde_json::{json, Value};

fn presign(frontier: &Frontier, body: Value) -> (u16, Value) {
    post_json(&frontier.url("/api/v1/rest/artifacts/presign"), &body.to_string())
}

fn put(url: &str, content_type: &str, bytes: &[u8]) -> u16 {
    http().put(url).header("content-type", content_type).send(bytes).expect("PUT").status().as_u16()
}

#[test]
fn presigned_urls_upload_the_exact_bytes_to_the_exact_key() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    for (i, artifact_path) in
        ["images/step 1.png", "a+b=c;(d).bin", "100% done#1.txt", "ünï/日本/файл.bin", "plain.bin"].into_iter().enumerate()
    {
        let (status, body) = presign(&frontier, json!({"run_id": run_id, "artifact_path": artifact_path, "content_type": "image/png"}));
        assert_eq!(status, 200, "{artifact_path}: {body}");
        let key = format!("{run_id}/{artifact_path}");
        assert_eq!(body["s3_key"], key.as_str());
        assert_eq!(body["headers"], Value::Null);
        let url = body["upload_url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/{}/", s3_endpoint(), bucket())), "{url}");
        assert!(url.contains("X-Amz-SignedHeaders=content-type%3Bhost"), "content type must be signed: {url}");
        let bytes: Vec<u8> = (0..=255u8).cycle().skip(i).take(3000 + i).collect();
        assert_eq!(put(url, "image/png", &bytes), 200, "{artifact_path}");
        assert_eq!(s3_get(&url_path(&key)), (200, bytes), "{artifact_path}");
    }
}

#[test]
fn the_store_refuses_a_changed_content_type_or_a_tampered_signature() {
    let frontier = Frontier::start(&[]);
    let (status, body) = presign(&frontier, json!({"run_id": unique_run_id(), "artifact_path": "x.png", "content_type": "image/png"}));
    assert_eq!(status, 200);
    let url = body["upload_url"].as_str().unwrap();
    assert_eq!(put(url, "text/html", b"<script>"), 403, "a different Content-Type breaks the signature");
    let signature_at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut tampered = url.to_string();
    let flipped = if &url[signature_at..signature_at + 1] == "0" { "1" } else { "0" };
    tampered.replace_range(signature_at..signature_at + 1, flipped);
    assert_eq!(put(&tampered, "image/png", b"x"), 403);
    assert_eq!(put(url, "image/png", b"x"), 200, "the untouched URL still works");
}

#[test]
fn the_default_content_type_is_octet_stream_and_the_public_endpoint_is_used() {
    let frontier = Frontier::start(&[("S3_PUBLIC_ENDPOINT", "https://files.example.com/")]);
    let (status, body) = presign(&frontier, json!({"run_id": "r1", "artifact_path": "a.bin"}));
    assert_eq!(status, 200);
    let url = body["upload_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("https://files.example.com/{}/r1/a.bin?", bucket())), "{url}");
    assert!(url.contains("X-Amz-Expires=3600"), "{url}");
}

#[test]
fn bad_presign_requests_get_clear_errors() {
    let frontier = Frontier::start(&[]);
    // Ids that could leave the run's prefix or break a URL: 400 naming the rule.
    for (body, expected) in [
        (json!({"run_id": "..", "artifact_path": "a"}), "run_id must not contain"),
        (json!({"run_id": "a/b", "artifact_path": "a"}), "run_id must not contain"),
        (json!({"run_id": "", "artifact_path": "a"}), "run_id must not be empty"),
        (json!({"run_id": "r", "artifact_path": "../other-run/x"}), "artifact_path must be relative"),
        (json!({"run_id": "r", "artifact_path": "/abs"}), "artifact_path must be relative"),
        (json!({"run_id": "r", "artifact_path": "a\u{0}b"}), "artifact_path must not contain NUL"),
        (json!({"run_id": "r", "artifact_path": "x".repeat(1100)}), "longer than 1024 bytes"),
        (json!({"run_id": "r", "artifact_path": "a", "content_type": "text/plain\r\nX-Evil: 1"}), "content_type must be"),
    ] {
        let (status, answer) = presign(&frontier, body.clone());
        assert_eq!(status, 400, "{body}");
        assert!(answer["detail"].as_str().unwrap().contains(expected), "{body}: {answer}");
    }
    // Malformed bodies: 422 with FastAPI-style entries naming the field.
    let (status, answer) = presign(&frontier, json!({"artifact_path": 7}));
    assert_eq!(status, 422);
    assert_eq!(answer["detail"][0]["loc"], json!(["body", "run_id"]));
    assert_eq!(answer["detail"][1]["loc"], json!(["body", "artifact_path"]));
    let (status, answer) = post_json(&frontier.url("/api/v1/rest/artifacts/presign"), "{oops");
    assert_eq!(status, 422);
    assert_eq!(answer["detail"][0]["type"], "json_invalid");
    // A body that is not declared JSON is not read as JSON (as FastAPI): 422.
    let body = json!({"run_id": unique_run_id(), "artifact_path": "a.png"}).to_string();
    let mut response =
        http().post(&frontier.url("/api/v1/rest/artifacts/presign")).header("content-type", "text/plain").send(body.as_str()).unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let answer: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(answer["detail"][0]["type"], "model_attributes_type");
}
