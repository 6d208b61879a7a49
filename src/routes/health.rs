//! Liveness (no network) and readiness (broker metadata + bucket HEAD, cached;
//! `recovering: <cause>` while a failed Kafka producer is being replaced).

use actix_web::{web, HttpResponse};
use matyan_actors::kafka_producer::{BrokerUnready, CheckBroker};
use matyan_actors::presign::CheckBlobStore;
use matyan_actors::CheckResult;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadinessStatus {
    Ok,
    Degraded,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `degraded` exactly when Kafka is not usable.
    status: ReadinessStatus,
    checks: Checks,
}

/// Each check: `ok`, or `error: <reason>`.
#[derive(Serialize, ToSchema)]
pub struct Checks {
    /// Also `recovering: <cause>` while a failed producer is being replaced.
    #[schema(example = "ok")]
    kafka: String,
    #[schema(example = "error: bucket 'matyan-artifacts' HEAD answered 403")]
    blob: String,
}

/// Liveness: answers while the process serves.
#[utoipa::path(
    get,
    path = "/health/live/",
    tag = "service",
    responses((status = 200, description = "The process serves", body = Liveness)),
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "ok" })
}

fn check_text(result: &CheckResult) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(reason) => format!("error: {reason}"),
    }
}

/// Readiness: Kafka (topic metadata) and the blob store (bucket HEAD), each cached 1 s.
///
/// 503 only when Kafka is unusable; a blob-store failure is reported in `checks.blob`, not fatal.
#[utoipa::path(
    get,
    path = "/health/ready/",
    tag = "service",
    responses(
        (status = 200, description = "Kafka is usable", body = Readiness,
            example = json!({"status": "ok", "checks": {"kafka": "ok", "blob": "ok"}})),
        (status = 503, description = "Kafka is not usable", body = Readiness,
            example = json!({"status": "degraded", "checks": {"kafka": "error: topic 'data-ingestion' has no partitions", "blob": "ok"}})),
    ),
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (kafka, blob) = tokio::join!(state.producer.check.send(CheckBroker), state.presign.send(CheckBlobStore));
    let kafka = kafka.unwrap_or_else(|e| Err(BrokerUnready::Unreachable(format!("producer actor unavailable: {e}"))));
    let blob = blob.unwrap_or_else(|e| Err(format!("presign actor unavailable: {e}")));
    let kafka_text = kafka.as_ref().map_or_else(ToString::to_string, |()| "ok".into());
    let body = |status| Readiness { status, checks: Checks { kafka: kafka_text.clone(), blob: check_text(&blob) } };
    if kafka.is_ok() {
        HttpResponse::Ok().json(body(ReadinessStatus::Ok))
    } else {
        HttpResponse::ServiceUnavailable().json(body(ReadinessStatus::Degraded))
    }
}

/// Prometheus metrics (served only when `METRICS_ENABLED`).
///
/// HTTP requests and their durations by method, route template and status class; open WebSocket
/// connections; messages and frames by type and result; bytes and frames in flight to Kafka.
#[utoipa::path(
    get,
    path = "/metrics/",
    tag = "service",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")),
)]
#[allow(dead_code)] // The exporter middleware answers this path (`server.rs`); this carries its operation.
pub fn metrics() {}
