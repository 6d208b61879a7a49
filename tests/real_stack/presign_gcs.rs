//! Presign for Google Cloud Storage: through the emulator (fake-gcs-server, which
//! does not check signatures) the URL uploads exactly the bytes to exactly the
//! key; with a service-account key the URL is a V4 signed URL with the
//! Content-Type signed (the signer itself is checked against Google's vectors).

use crate::support::*;
use serde_json::{json, Value};

const TEST_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/actors/src/presign/testdata/gcs/test_service_account.not-a-test.json");

fn emulator() -> String {
    std::env::var("MATYAN_GCS_EMULATOR").unwrap_or_else(|_| "http://127.0.0.1:4443".into())
}

#[test]
fn emulator_urls_upload_the_exact_bytes_to_the_exact_key() {
    let bucket = format!("gcs-{}", &unique_run_id()[..12]);
    let emulator = emulator();
    let frontier = Frontier::start(&[("BLOB_BACKEND_TYPE", "gcs"), ("GCS_BUCKET", &bucket), ("STORAGE_EMULATOR_HOST", &emulator)]);
    let (status, _, body) = get(&frontier.url("/health/ready/"));
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["checks"]["blob"], "ok", "the bucket was created at startup");

    let run_id = unique_run_id();
    for (i, artifact_path) in ["images/step 1.png", "a+b=c;(d).bin", "100% done#1.txt", "ünï/日本/файл.bin"].into_iter().enumerate()
    {
        let (status, answer) = post_json(
            &frontier.url("/api/v1/rest/artifacts/presign"),
            &json!({"run_id": run_id, "artifact_path": artifact_path, "content_type": "image/png"}).to_string(),
        );
        assert_eq!(status, 200, "{answer}");
        let key = format!("{run_id}/{artifact_path}");
        assert_eq!(answer["s3_key"], key.as_str());
        assert_eq!(answer["headers"], Value::Null);
        let url = answer["upload_url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{emulator}/upload/storage/v1/b/{bucket}/o?uploadType=media&name=")), "{url}");
        let bytes: Vec<u8> = (0..=255u8).cycle().skip(i).take(2000 + i).collect();
        // The URL is PROTOCOL.md's media-upload URL; fake-gcs-server serves it for
        // POST only (as Google's JSON API does), and answers PUT with 404.
        let upload = http().post(url).header("content-type", "image/png").send(&bytes[..]).unwrap();
        assert_eq!(upload.status(), 200, "{artifact_path}");
        let mut read = http().get(&format!("{emulator}/storage/v1/b/{bucket}/o/{}?alt=media", url_component(&key))).call().unwrap();
        assert_eq!(read.status(), 200, "{key} is stored under exactly its name");
        assert_eq!(read.body_mut().read_to_vec().unwrap(), bytes, "{artifact_path}");
    }
}

#[test]
fn service_account_urls_are_v4_signed_with_the_content_type() {
    let frontier =
        Frontier::start(&[("BLOB_BACKEND_TYPE", "gcs"), ("GCS_BUCKET", "matyan-artifacts"), ("GOOGLE_APPLICATION_CREDENTIALS", TEST_KEY)]);
    let (status, answer) = post_json(
        &frontier.url("/api/v1/rest/artifacts/presign"),
        &json!({"run_id": "r1", "artifact_path": "a dir/x+1.png", "content_type": "image/png"}).to_string(),
    );
    assert_eq!(status, 200, "{answer}");
    let url = answer["upload_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://storage.googleapis.com/matyan-artifacts/r1/a%20dir/x%2B1.png?X-Goog-Algorithm=GOOG4-RSA-SHA256&"),
        "{url}"
    );
    for part in [
        "X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F",
        "X-Goog-Expires=3600",
        "X-Goog-SignedHeaders=content-type%3Bhost",
        "&X-Goog-Signature=",
    ] {
        assert!(url.contains(part), "{part} missing in {url}");
    }
    assert_eq!(answer["headers"], Value::Null);
}

#[test]
fn gcs_without_credentials_or_emulator_is_refused_at_startup() {
    let error = Frontier::try_start(&[("BLOB_BACKEND_TYPE", "gcs")]).err().expect("must not start");
    assert!(error.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{error}");
    let error = Frontier::try_start(&[("BLOB_BACKEND_TYPE", "gcs"), ("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent.json")])
        .err()
        .expect("must not start");
    assert!(error.contains("cannot read the service-account key /nonexistent.json"), "{error}");
}
