//! Optional authentication: with AUTH_TOKENS set, the WebSocket upgrade and
//! presign need a token (bearer or Basic header, or `token` query parameter); a token
//! may be bound to a run-id prefix; tokens never appear in the logs.

use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::*;
use serde_json::{json, Value};

const TOKENS: &str = "s3cret-token-1,team-token:team-a-";

fn upgrade_status(frontier: &Frontier, run_id: &str, query: &str, bearer: Option<&str>) -> u16 {
    upgrade(&format!("{}{query}", frontier.ws_url(run_id)), bearer).map_or_else(|refusal| refusal.status().as_u16(), |_| 101)
}

fn presign_status(frontier: &Frontier, run_id: &str, bearer: Option<&str>) -> u16 {
    let mut request = http().post(&frontier.url("/api/v1/rest/artifacts/presign")).header("content-type", "application/json");
    if let Some(token) = bearer {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    request.send(json!({"run_id": run_id, "artifact_path": "a.png"}).to_string()).unwrap().status().as_u16()
}

#[test]
fn tokens_guard_the_upgrade_and_presign() {
    let frontier = Frontier::start(&[("AUTH_TOKENS", TOKENS)]);
    // Each request gets: 101/200 with a good token, 401 without or with a wrong one,
    // 403 when the token is bound to other runs.
    assert_eq!(upgrade_status(&frontier, "run-1", "", None), 401);
    assert_eq!(upgrade_status(&frontier, "run-1", "", Some("wrong")), 401);
    assert_eq!(upgrade_status(&frontier, "run-1", "", Some("s3cret-token-1")), 101);
    assert_eq!(upgrade_status(&frontier, "run-1", "?token=s3cret-token-1", None), 101);
    assert_eq!(upgrade_status(&frontier, "team-a-7", "", Some("team-token")), 101);
    assert_eq!(upgrade_status(&frontier, "team-b-7", "", Some("team-token")), 403);
    assert_eq!(presign_status(&frontier, "run-1", None), 401);
    assert_eq!(presign_status(&frontier, "run-1", Some("s3cret-token-1")), 200);
    assert_eq!(presign_status(&frontier, "team-b-7", Some("team-token")), 403);
    assert_eq!(get(&frontier.url("/health/live/")).0, 200, "probes stay open");
    let logs = frontier.log_text();
    assert!(logs.contains("/api/v1/ws/runs/run-1"), "requests are logged");
    assert!(!logs.contains("s3cret-token-1") && !logs.contains("team-token"), "tokens never reach the logs:\n{logs}");
}

#[test]
fn without_tokens_nothing_is_asked() {
    let frontier = Frontier::start(&[]);
    assert_eq!(upgrade_status(&frontier, "run-1", "", None), 101);
    assert_eq!(presign_status(&frontier, "run-1", None), 200);
}

#[test]
fn oversized_presign_bodies_get_413() {
    let frontier = Frontier::start(&[]);
    let body = json!({"run_id": "r", "artifact_path": "x".repeat(100_000)}).to_string();
    let status = http()
        .post(&frontier.url("/api/v1/rest/artifacts/presign"))
        .header("content-type", "application/json")
        .send(body)
        .unwrap()
        .status();
    assert_eq!(status, 413);
}

/// Runs `tests/client/drive_real_client.py` (the stock client: a run with metrics and an image) against `frontier_url`.
fn drive_stock_client(frontier_url: &str) -> Output {
    let python =
        std::env::var("MATYAN_STACK_PYTHON").expect("MATYAN_STACK_PYTHON is set by scripts/local-stack.sh env (run scripts/test.sh)");
    let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/client/drive_real_client.py");
    Command::new(python).arg(driver).arg(frontier_url).output().expect("run the Python client")
}

/// The frontier's URL with `user:token` as its user-info, as an operator would set `MATYAN_FRONTIER_URL`.
fn url_with_token(frontier: &Frontier, token: &str) -> String {
    frontier.url("").replacen("http://", &format!("http://ingest:{token}@"), 1)
}

#[test]
fn the_stock_client_authenticates_with_the_token_in_its_url() {
    let frontier = Frontier::start(&[("AUTH_TOKENS", TOKENS)]);
    // The unmodified client sends the URL's user-info as `Authorization: Basic` on the
    // WebSocket upgrade (websockets) and on presign (httpx): the run and its image get through.
    let output = drive_stock_client(&url_with_token(&frontier, "s3cret-token-1"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "client failed: {stderr}");
    let sent: Value = serde_json::from_slice(output.stdout.trim_ascii()).expect("driver prints one JSON line");
    let run_id = sent["run_id"].as_str().unwrap();
    let records = records_for(run_id, 11, Duration::from_secs(20));
    let blob =
        records.iter().find(|r| r.value["type"] == "blob_ref").unwrap_or_else(|| panic!("no image went through presign: {records:#?}"));
    let image: Vec<u8> = sent["image_bytes"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect();
    assert_eq!(s3_get(blob.value["payload"]["s3_key"].as_str().unwrap()), (200, image));
    assert_eq!(records.last().unwrap().value["type"], "finish_run");

    // A wrong token: the upgrade gets 401, which the client treats as fatal (`Run()` raises).
    let refused = drive_stock_client(&url_with_token(&frontier, "wrong-token"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a wrong token must be refused");
    assert!(stderr.contains("ConnectionError") && stderr.contains("HTTP 401"), "{stderr}");
    assert!(!frontier.log_text().contains("s3cret-token-1"), "tokens never reach the logs");
}

/// An identity provider's ES256 key: it signs JWTs; its JWKS is what the frontier reads.
struct IdentityProvider {
    pkcs8: aws_lc_rs::pkcs8::Document,
    jwks: String,
}

impl IdentityProvider {
    fn new() -> Self {
        use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..]));
        Self { jwks: json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "ci", "x": x, "y": y}]}).to_string(), pkcs8 }
    }

    /// A JWT for runs starting with any of `prefixes`, expiring `lifetime_s` from now.
    fn jwt(&self, prefixes: &[&str], lifetime_s: i64) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let claims = json!({"iss": "https://idp.test", "aud": "matyan", "exp": now + lifetime_s, "matyan_run_prefix": prefixes});
        let header = jsonwebtoken::Header { kid: Some("ci".into()), ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256) };
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(self.pkcs8.as_ref())).unwrap()
    }
}

#[test]
fn the_stock_client_authenticates_with_a_jwt_in_its_url() {
    let idp = IdentityProvider::new();
    let file = std::env::temp_dir().join(format!("matyan-real-stack-jwks-{}.json", std::process::id()));
    std::fs::write(&file, &idp.jwks).unwrap();
    let frontier = Frontier::start(&[
        ("AUTH_JWKS_FILE", file.to_str().unwrap()),
        ("AUTH_JWT_ISSUER", "https://idp.test"),
        ("AUTH_JWT_AUDIENCE", "matyan"),
    ]);
    // The client picks its run id (32 hex digits): this JWT grants runs starting with any hex digit.
    let hex_digits: Vec<String> = (0..16).map(|d| format!("{d:x}")).collect();
    let every_run: Vec<&str> = hex_digits.iter().map(String::as_str).collect();
    let output = drive_stock_client(&url_with_token(&frontier, &idp.jwt(&every_run, 600)));
    assert!(output.status.success(), "client failed: {}", String::from_utf8_lossy(&output.stderr));
    let sent: Value = serde_json::from_slice(output.stdout.trim_ascii()).expect("driver prints one JSON line");
    let records = records_for(sent["run_id"].as_str().unwrap(), 11, Duration::from_secs(20));
    assert!(records.iter().any(|r| r.value["type"] == "blob_ref"), "the image went through presign: {records:#?}");

    // Expired (past the 30 s leeway): 401 at the upgrade, fatal to the client; no hex prefix: 403.
    for (jwt, status) in [(idp.jwt(&every_run, -120), "HTTP 401"), (idp.jwt(&["team-a-"], 600), "HTTP 403")] {
        let refused = drive_stock_client(&url_with_token(&frontier, &jwt));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success() && stderr.contains(status), "{status}: {stderr}");
    }
    let logs = frontier.log_text();
    assert!(logs.contains("JWT refused: expired"), "the operator sees why: {logs}");
    assert!(!logs.contains(&idp.jwt(&every_run, 600)[..40]), "tokens never reach the logs");
    std::fs::remove_file(file).unwrap();
}
