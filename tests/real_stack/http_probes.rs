//! Probes, version, metrics, CORS, X-Request-ID and startup validation.

use crate::support::*;
use serde_json::{json, Value};

#[test]
fn liveness_readiness_and_version() {
    let frontier = Frontier::start(&[]);
    let (status, _, body) = get(&frontier.url("/health/live/"));
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()), (200, json!({"status": "ok"})));
    let (status, _, body) = get(&frontier.url("/health/ready/"));
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (200, json!({"status": "ok", "checks": {"kafka": "ok", "blob": "ok"}}))
    );
    let (status, _, body) = get(&frontier.url("/api/v1/rest/version/"));
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (200, json!({"version": env!("CARGO_PKG_VERSION"), "component": "frontier"}))
    );
}

#[test]
fn readiness_reports_a_missing_bucket_without_failing() {
    let frontier = Frontier::start(&[("S3_ENDPOINT", "http://127.0.0.1:9")]);
    let (status, _, body) = get(&frontier.url("/health/ready/"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["kafka"], "ok");
    assert!(body["checks"]["blob"].as_str().unwrap().starts_with("error: "), "{body}");
}

#[test]
fn every_response_carries_a_fresh_request_id() {
    let frontier = Frontier::start(&[]);
    let mut seen = Vec::new();
    for path in ["/health/live/", "/health/live/", "/no/such/path", "/metrics/"] {
        let (_, headers, _) = get(&frontier.url(path));
        let id = headers.get("x-request-id").unwrap_or_else(|| panic!("{path}: no X-Request-ID")).to_str().unwrap().to_string();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert!(!seen.contains(&id), "request ids are fresh");
        seen.push(id);
    }
}

#[test]
fn metrics_use_the_dashboard_names_and_bounded_labels() {
    let frontier = Frontier::start(&[]);
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(r#"{"type":"add_tag","tag_name":"t"}"#), ok_answer());
    assert_eq!(ws.roundtrip("{not json")["status"], "error");
    get(&frontier.url("/health/live/"));
    let (status, _, text) = get(&frontier.url("/metrics/"));
    assert_eq!(status, 200);
    for expected in [
        r#"matyan_http_requests_total{method="GET",path_template="/health/live/",status_class="2xx"}"#,
        r#"matyan_http_requests_total{method="GET",path_template="/api/v1/ws/runs/{id}",status_class="1xx"}"#,
        r#"matyan_http_request_duration_seconds_bucket{method="GET",path_template="/health/live/",status_class="2xx""#,
        "matyan_ws_connections_active 1",
        r#"matyan_ws_messages_total{message_type="add_tag"} 1"#,
        r#"matyan_ws_frames_total{result="ok"} 1"#,
        r#"matyan_ws_frames_total{result="rejected"} 1"#,
        "# TYPE matyan_ws_connection_duration_seconds histogram",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    assert!(!text.contains(&run_id), "run ids never become label values");
    let disabled = Frontier::start(&[("METRICS_ENABLED", "false")]);
    assert_eq!(get(&disabled.url("/metrics/")).0, 404);
}

#[test]
fn cors_allows_the_configured_origins_with_credentials() {
    let frontier = Frontier::start(&[("CORS_ORIGINS", "http://ui.local:3000,http://other.local")]);
    let preflight = |origin: &str| {
        let request = http::Request::builder()
            .method("OPTIONS")
            .uri(frontier.url("/api/v1/rest/artifacts/presign"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,authorization")
            .body(())
            .unwrap();
        http().run(request).unwrap()
    };
    let allowed = preflight("http://ui.local:3000");
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.headers()["access-control-allow-origin"], "http://ui.local:3000");
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    let refused = preflight("http://evil.local");
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}

#[test]
fn invalid_configuration_stops_startup_naming_the_variable() {
    for (var, value) in
        [("KAFKA_BOOTSTRAP_SERVERS", "no-port"), ("S3_ENDPOINT", "ftp://x"), ("BLOB_BACKEND_TYPE", "tape"), ("PORT", "99999")]
    {
        let error = Frontier::try_start(&[(var, value)]).err().unwrap_or_else(|| panic!("{var}={value} must be refused"));
        assert!(error.contains("exited with exit status: 2"), "{error}");
        assert!(error.contains(var), "{error}");
    }
    let error = Frontier::try_start(&[("ENVIRONMENT", "production"), ("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")]).err().unwrap();
    assert!(error.contains("KAFKA_BOOTSTRAP_SERVERS: the development default"), "{error}");
}
