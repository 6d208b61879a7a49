//! Kafka with authentication on: the local stack's SASL broker (Tansu, sqlite
//! storage) accepts only SCRAM-SHA-256 logins of its one user.

use std::time::{Duration, Instant};

use crate::support::*;
use rdkafka::ClientConfig;

fn sasl_bootstrap() -> String {
    std::env::var("MATYAN_SASL_KAFKA").unwrap_or_else(|_| "127.0.0.1:9095".into())
}

fn credentials(password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("KAFKA_BOOTSTRAP_SERVERS", sasl_bootstrap()),
        ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT".into()),
        ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256".into()),
        ("KAFKA_SASL_USERNAME", std::env::var("MATYAN_SASL_USER").unwrap_or_else(|_| "matyan".into())),
        ("KAFKA_SASL_PASSWORD", password.into()),
    ]
}

fn start_with(password: &str, extra: &[(&'static str, &str)]) -> Frontier {
    let mut env = credentials(password);
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    Frontier::start(&env.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>())
}

fn right_password() -> String {
    std::env::var("MATYAN_SASL_PASSWORD").unwrap_or_else(|_| "matyan-secret".into())
}

#[test]
fn scram_credentials_publish_through_an_authenticating_broker() {
    let password = right_password();
    let frontier = start_with(&password, &[]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(15));
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    assert_eq!(ws.roundtrip(r#"[{"type":"add_tag","tag_name":"a"},{"type":"add_tag","tag_name":"b"}]"#), ok_answer());

    let mut consumer = ClientConfig::new();
    for (key, value) in [
        ("bootstrap.servers", sasl_bootstrap()),
        ("security.protocol", "SASL_PLAINTEXT".into()),
        ("sasl.mechanism", "SCRAM-SHA-256".into()),
        ("sasl.username", "matyan".into()),
        ("sasl.password", password.clone()),
    ] {
        consumer.set(key, value);
    }
    let records = records_with(consumer, &[&run_id], 2, Duration::from_secs(20));
    let tags: Vec<_> = records.iter().map(|r| r.value["payload"]["tag_name"].as_str().unwrap()).collect();
    assert_eq!(tags, ["a", "b"]);
    assert!(!frontier.log_text().contains(&password), "the password never reaches the logs");
}

/// A wrong password is not a crash loop: the process stays up, readiness says
/// why with 503, and a frame gets an error answer within the client's wait.
#[test]
fn a_wrong_password_is_a_clear_readiness_error_not_a_crash() {
    // A frame is held until the answer deadline (40 s by default), as for any broker trouble.
    let mut frontier = start_with("not-the-password", &[("WS_ANSWER_DEADLINE_MS", "5000")]);
    let degraded = wait_for_readiness(&frontier, 503, Duration::from_secs(15));
    let reason = degraded["checks"]["kafka"].as_str().unwrap();
    assert!(reason.contains("SASL authentication error"), "{reason}");

    let mut ws = frontier.ws(&unique_run_id());
    let sent = Instant::now();
    let answer = ws.roundtrip(r#"{"type":"add_tag","tag_name":"refused"}"#);
    assert_eq!(answer["status"], "error", "{answer}");
    assert!(sent.elapsed() < Duration::from_secs(7), "answered at the deadline: {:?}", sent.elapsed());
    assert!(!frontier.log_text().contains("not-the-password"), "the password never reaches the logs");
    let status = frontier.terminate();
    assert_eq!(status.code(), Some(0), "still running, and it shuts down cleanly: {status}; log:\n{}", frontier.log_text());
}
