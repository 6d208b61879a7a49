//! Liveness (no network) and readiness (broker metadata + bucket HEAD, cached).

use actix_web::{web, HttpResponse};
use matyan_actors::kafka_producer::CheckBroker;
use matyan_actors::presign::CheckBlobStore;
use matyan_actors::CheckResult;
use serde_json::json;

use super::AppState;

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

fn check_text(result: &CheckResult) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(reason) => format!("error: {reason}"),
    }
}

/// 503 only when Kafka is unusable; a blob-store failure is reported, not fatal.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (kafka, blob) = tokio::join!(state.producer.send(CheckBroker), state.presign.send(CheckBlobStore));
    let kafka = kafka.unwrap_or_else(|e| Err(format!("producer actor unavailable: {e}")));
    let blob = blob.unwrap_or_else(|e| Err(format!("presign actor unavailable: {e}")));
    let body = |status| json!({"status": status, "checks": {"kafka": check_text(&kafka), "blob": check_text(&blob)}});
    if kafka.is_ok() {
        HttpResponse::Ok().json(body("ok"))
    } else {
        HttpResponse::ServiceUnavailable().json(body("degraded"))
    }
}
