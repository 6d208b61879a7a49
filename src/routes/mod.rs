//! HTTP routes. Handlers stay thin: extract, ask an actor, map its reply.

mod health;
mod presign;
mod ws;

use actix::Addr;
use actix_web::{web, HttpResponse};
use matyan_actors::backpressure::InflightBudget;
use matyan_actors::connections::ConnectionRegistry;
use matyan_actors::kafka_producer::KafkaProducer;
use matyan_actors::metrics::SessionMetrics;
use matyan_actors::presign::PresignActor;
use matyan_actors::ws_session::SessionLimits;
use serde_json::json;

use crate::auth::{AuthError, Authenticator};
use std::sync::Arc;

/// What the handlers share.
pub struct AppState {
    pub auth: Authenticator,
    pub producer: Addr<KafkaProducer>,
    pub presign: Addr<PresignActor>,
    pub connections: Arc<ConnectionRegistry>,
    pub session_metrics: SessionMetrics,
    pub session_limits: SessionLimits,
    pub inflight_budget: Arc<InflightBudget>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/ws/runs/{run_id}", web::get().to(ws::upgrade))
        .route("/api/v1/rest/artifacts/presign", web::post().to(presign::presign))
        .route("/api/v1/rest/version/", web::get().to(version))
        .route("/health/live/", web::get().to(health::live))
        .route("/health/ready/", web::get().to(health::ready));
}

async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({"version": env!("CARGO_PKG_VERSION"), "component": "frontier"}))
}

/// 401 for a missing or unknown token, 403 for a token bound to other runs.
fn unauthorized(error: AuthError) -> HttpResponse {
    let status = match error {
        AuthError::RunNotAllowed(_) => actix_web::http::StatusCode::FORBIDDEN,
        AuthError::Missing | AuthError::Invalid => actix_web::http::StatusCode::UNAUTHORIZED,
    };
    let mut response = detail(status, error.to_string());
    response.headers_mut().insert(actix_web::http::header::WWW_AUTHENTICATE, actix_web::http::header::HeaderValue::from_static("Bearer"));
    response
}

/// A JSON error body in FastAPI's shape (`{"detail": ...}`), which clients already parse.
fn detail(status: actix_web::http::StatusCode, detail: impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "detail": detail }))
}
