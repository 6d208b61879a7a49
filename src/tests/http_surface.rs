//! Probes, request ids, CORS, authentication and metric labels, in-process.

use serde_json::{json, Value};

use super::fakes::{FakeProducer, FakeStore};
use super::gateway::TestGateway;

fn json_body(answer: (u16, http::HeaderMap, String)) -> (u16, Value) {
    (answer.0, serde_json::from_str(&answer.2).expect("a JSON body"))
}

#[test]
fn probes_and_version_answer() {
    let gateway = TestGateway::start(&[], FakeProducer::acking(), FakeStore::healthy());
    assert_eq!(json_body(gateway.get("/health/live/")), (200, json!({"status": "ok"})));
    assert_eq!(json_body(gateway.get("/health/ready/")), (200, json!({"status": "ok", "checks": {"kafka": "ok", "blob": "ok"}})));
    let version = json!({"version": env!("CARGO_PKG_VERSION"), "component": "frontier"});
    assert_eq!(json_body(gateway.get("/api/v1/rest/version/")), (200, version));
}

#[test]
fn readiness_is_503_while_the_broker_is_unusable() {
    let gateway = TestGateway::start(&[], FakeProducer::without_partitions("data-ingestion"), FakeStore::healthy());
    let expected = json!({"status": "degraded", "checks": {"kafka": "error: topic 'data-ingestion' has no partitions", "blob": "ok"}});
    assert_eq!(json_body(gateway.get("/health/ready/")), (503, expected));
}

#[test]
fn readiness_reports_a_failing_store_without_failing() {
    let store = FakeStore::answering(403);
    let gateway = TestGateway::start(&[], FakeProducer::acking(), store);
    let expected = json!({"status": "ok", "checks": {"kafka": "ok", "blob": "error: bucket 'bucket' HEAD answered 403"}});
    assert_eq!(json_body(gateway.get("/health/ready/")), (200, expected));
}

#[test]
fn every_response_carries_a_fresh_request_id() {
    let gateway = TestGateway::start(&[], FakeProducer::acking(), FakeStore::healthy());
    let ids: Vec<String> = ["/health/live/", "/health/live/", "/no/such/path", "/metrics/"]
        .into_iter()
        .map(|path| {
            gateway.get(path).1.get("x-request-id").unwrap_or_else(|| panic!("{path}: no X-Request-ID")).to_str().unwrap().to_owned()
        })
        .collect();
    assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()), "{ids:?}");
    let mut distinct = ids.clone();
    distinct.dedup();
    assert_eq!(distinct, ids, "request ids are fresh");
}

#[test]
fn cors_allows_only_the_configured_origins() {
    let gateway =
        TestGateway::start(&[("CORS_ORIGINS", "http://ui.local:3000,http://other.local")], FakeProducer::acking(), FakeStore::healthy());
    let preflight = |origin: &str| {
        let request = gateway
            .request("OPTIONS", "/api/v1/rest/artifacts/presign")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,authorization")
            .body(String::new())
            .unwrap();
        gateway.send(request)
    };
    let (status, headers, _) = preflight("http://ui.local:3000");
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "http://ui.local:3000");
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert!(preflight("http://evil.local").1.get("access-control-allow-origin").is_none());
    let any = TestGateway::start(&[("CORS_ORIGINS", "*")], FakeProducer::acking(), FakeStore::healthy());
    let request = any.request("GET", "/health/live/").header("origin", "http://anywhere.local").body(String::new()).unwrap();
    assert_eq!(any.send(request).1["access-control-allow-origin"], "http://anywhere.local");
}

#[test]
fn tokens_guard_the_upgrade_and_presign_but_not_the_probes() {
    let gateway = TestGateway::start(&[("AUTH_TOKENS", "s3cret,team:team-a-")], FakeProducer::acking(), FakeStore::healthy());
    let presign = |run_id: &str, bearer: Option<&str>| {
        let mut request = gateway.request("POST", "/api/v1/rest/artifacts/presign").header("content-type", "application/json");
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let (status, headers, _) = gateway.send(request.body(json!({"run_id": run_id, "artifact_path": "a.png"}).to_string()).unwrap());
        (status, headers.get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()))
    };
    assert_eq!(gateway.ws("run-1", None).err(), Some(401));
    assert_eq!(gateway.ws("run-1", Some("wrong")).err(), Some(401));
    assert!(gateway.ws("run-1", Some("s3cret")).is_ok());
    assert!(gateway.ws("team-a-1", Some("team")).is_ok());
    assert_eq!(gateway.ws("team-b-1", Some("team")).err(), Some(403));
    assert_eq!(presign("run-1", None), (401, Some("Bearer".into())));
    assert_eq!(presign("run-1", Some("s3cret")).0, 200);
    assert_eq!(presign("team-b-1", Some("team")), (403, Some("Bearer".into())));
    assert_eq!(gateway.get("/health/live/").0, 200);
    assert_eq!(gateway.get("/health/ready/").0, 200);
}

/// Route templates, not paths; frames counted by result, failed ones too.
#[test]
fn metrics_label_routes_by_template_and_frames_by_result() {
    let gateway = TestGateway::start(&[], FakeProducer::timing_out(), FakeStore::healthy());
    let mut ws = gateway.ws("secret-run-name", None).unwrap();
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"t"}"#)["status"], "error");
    assert_eq!(ws.roundtrip("{not json")["status"], "error");
    gateway.get("/no/such/path");
    gateway.get("/no/other/path");
    let presign = gateway.request("POST", "/api/v1/rest/artifacts/presign").header("content-type", "application/json");
    gateway.send(presign.body("{}".into()).unwrap());
    let (status, _, text) = gateway.get("/metrics/");
    assert_eq!(status, 200);
    let series: Vec<&str> =
        text.lines().filter(|line| line.starts_with("matyan_http_requests_total") || line.starts_with("matyan_ws_frames_total")).collect();
    assert_eq!(
        series,
        [
            r#"matyan_http_requests_total{method="GET",path_template="/api/v1/ws/runs/{id}",status_class="1xx"} 1"#,
            r#"matyan_http_requests_total{method="GET",path_template="<unmatched>",status_class="4xx"} 2"#,
            r#"matyan_http_requests_total{method="POST",path_template="/api/v1/rest/artifacts/presign",status_class="4xx"} 1"#,
            r#"matyan_ws_frames_total{result="failed"} 1"#,
            r#"matyan_ws_frames_total{result="ok"} 0"#,
            r#"matyan_ws_frames_total{result="rejected"} 1"#,
            r#"matyan_ws_frames_total{result="resent"} 0"#,
        ],
        "{text}"
    );
    assert!(!text.contains("secret-run-name"), "run ids never become label values");
    let disabled = TestGateway::start(&[("METRICS_ENABLED", "false")], FakeProducer::acking(), FakeStore::healthy());
    assert_eq!(disabled.get("/metrics/").0, 404);
}

/// 200 requests with invented methods add no series: each is counted as
/// `OTHER` (once 371 KB of `/metrics/`, a series per method). Standard
/// methods keep their names; `get` is not `GET`.
#[test]
fn invented_methods_share_one_label() {
    let gateway = TestGateway::start(&[], FakeProducer::acking(), FakeStore::healthy());
    let send = |method: &str| raw_request(&gateway, method, "/health/live/");
    let series = |text: &str| text.lines().filter(|line| line.starts_with("matyan_http_")).count();
    for method in ["BREW", "get", "DELETE"] {
        send(method);
    }
    gateway.get("/metrics/");
    let before = gateway.get("/metrics/").2;
    for n in 0..200 {
        send(&format!("INVENTED{n}{}", "X".repeat(n * 10)));
    }
    let after = gateway.get("/metrics/").2;
    assert_eq!((series(&after), after.len().abs_diff(before.len()) < 100), (series(&before), true), "no series added:\n{after}");
    assert!(!after.contains("INVENTED") && !after.contains("BREW") && !after.contains("\"get\""), "{after}");
    let other = r#"matyan_http_requests_total{method="OTHER",path_template="/health/live/",status_class="4xx"} 202"#;
    let delete = r#"matyan_http_requests_total{method="DELETE",path_template="/health/live/",status_class="4xx"} 1"#;
    assert!(after.lines().any(|line| line == other) && after.lines().any(|line| line == delete), "{after}");
}

/// Sends `method path` over a plain socket (HTTP clients refuse invented
/// methods); answers the status line.
fn raw_request(gateway: &TestGateway, method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let address = gateway.url("").trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_string()
}
