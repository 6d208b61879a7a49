//! Optional authentication: with AUTH_TOKENS set, the WebSocket upgrade and
//! presign need a bearer token (header or `token` query parameter); a token
//! may be bound to a run-id prefix; tokens never appear in the logs.

use crate::support::*;
use serde_json::json;

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
