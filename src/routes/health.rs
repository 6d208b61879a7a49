//! Liveness (no network) and readiness (broker metadata + bucket HEAD, cached;
//! `recovering: <cause>` while a failed Kafka producer is being replaced).

use actix::MailboxError;
use actix_web::{web, HttpResponse};
use matyan_actors::kafka_producer::CheckBroker;
use matyan_actors::presign::CheckBlobStore;
use matyan_actors::Health;
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
    /// A drain (SIGUSR1) is closing every connection: a load balancer should send new ones elsewhere.
    Draining,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `degraded` exactly when Kafka is not usable; else `draining` during a drain.
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

/// The text of a check whose actor did not answer.
fn actor_unavailable(actor: &str, error: MailboxError) -> String {
    format!("error: {actor} actor unavailable: {error}")
}

/// Readiness: Kafka (topic metadata) and the blob store (bucket HEAD), each cached 1 s.
///
/// 503 when Kafka is unusable, or while a drain (SIGUSR1) closes the connections; a blob-store failure is
/// reported in `checks.blob`, not fatal.
#[utoipa::path(
    get,
    path = "/health/ready/",
    tag = "service",
    responses(
        (status = 200, description = "Kafka is usable", body = Readiness,
            example = json!({"status": "ok", "checks": {"kafka": "ok", "blob": "ok"}})),
        (status = 503, description = "Kafka is not usable, or the replica is draining", body = Readiness,
            example = json!({"status": "degraded", "checks": {"kafka": "error: topic 'data-ingestion' has no partitions", "blob": "ok"}})),
    ),
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (kafka, blob) = tokio::join!(state.producer.check.send(CheckBroker), state.presign.send(CheckBlobStore));
    let kafka_ready = matches!(kafka, Ok(Health::Ready));
    let checks = Checks {
        kafka: match kafka {
            Ok(Health::Ready) => "ok".into(),
            // The reason says `recovering: …` or `error: …` itself.
            Ok(Health::Unready(reason)) => reason.to_string(),
            Err(e) => actor_unavailable("producer", e),
        },
        blob: match blob {
            Ok(Health::Ready) => "ok".into(),
            Ok(Health::Unready(reason)) => format!("error: {reason}"),
            Err(e) => actor_unavailable("presign", e),
        },
    };
    if !kafka_ready {
        HttpResponse::ServiceUnavailable().json(Readiness { status: ReadinessStatus::Degraded, checks })
    } else if state.connections.is_draining() {
        HttpResponse::ServiceUnavailable().json(Readiness { status: ReadinessStatus::Draining, checks })
    } else {
        HttpResponse::Ok().json(Readiness { status: ReadinessStatus::Ok, checks })
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
