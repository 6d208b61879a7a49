//! HTTP routes. Handlers stay thin: extract, ask an actor, map its reply.
//! Each carries its OpenAPI operation; [`register`] is the one list of them.

mod docs;
mod health;
mod openapi;
mod presign;
mod ws;

use actix::dev::ToEnvelope;
use actix::{Actor, Addr, Handler, Recipient};
use actix_web::{web, HttpResponse};
use matyan_actors::backpressure::InflightBudget;
use matyan_actors::connections::ConnectionRegistry;
use matyan_actors::kafka_producer::{CheckBroker, Flush, Publish};
use matyan_actors::metrics::SessionMetrics;
use matyan_actors::presign::PresignActor;
use matyan_actors::ws_session::SessionLimits;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{AuthError, Authenticator};
use std::sync::Arc;

pub use openapi::Routes;

/// What the handlers share.
pub struct AppState {
    pub auth: Authenticator,
    pub producer: ProducerPort,
    pub presign: Addr<PresignActor>,
    pub connections: Arc<ConnectionRegistry>,
    pub session_metrics: SessionMetrics,
    pub session_limits: SessionLimits,
    pub inflight_budget: Arc<InflightBudget>,
}

/// The producer as the gateway uses it: sessions publish, readiness checks,
/// shutdown flushes. A seam: the in-process tests put a fake actor behind it.
#[derive(Clone)]
pub struct ProducerPort {
    pub publish: Recipient<Publish>,
    pub check: Recipient<CheckBroker>,
    pub flush: Recipient<Flush>,
}

impl ProducerPort {
    /// The three messages of `producer`, an actor that handles them all.
    pub fn of<A>(producer: &Addr<A>) -> Self
    where
        A: Actor + Handler<Publish> + Handler<CheckBroker> + Handler<Flush>,
        A::Context: ToEnvelope<A, Publish> + ToEnvelope<A, CheckBroker> + ToEnvelope<A, Flush>,
    {
        Self { publish: producer.clone().recipient(), check: producer.clone().recipient(), flush: producer.clone().recipient() }
    }
}

/// What the App serves besides its routes, which the document must list too.
#[derive(Clone, Copy)]
pub struct Surface {
    /// `/metrics/`, answered by the exporter middleware.
    pub metrics: bool,
}

/// Every route, once: the App serves it and the document describes it.
pub fn register(routes: &mut Routes, surface: Surface) {
    routes.add::<ws::__path_upgrade, _, _>(ws::upgrade);
    routes.add::<presign::__path_presign, _, _>(presign::presign);
    routes.add::<__path_version, _, _>(version);
    routes.add::<health::__path_live, _, _>(health::live);
    routes.add::<health::__path_ready, _, _>(health::ready);
    if surface.metrics {
        routes.add_served_by_middleware::<health::__path_metrics>();
    }
    routes.add::<docs::__path_openapi_json, _, _>(docs::openapi_json);
    routes.add::<docs::__path_docs, _, _>(docs::docs);
}

/// The App's routes, and the document they make (for `/openapi.json` and `/docs`).
pub fn configure(cfg: &mut web::ServiceConfig, surface: Surface) {
    let mut routes = Routes::new(Some(cfg));
    register(&mut routes, surface);
    let pages = docs::Pages::new(&routes.document());
    cfg.app_data(web::Data::new(pages));
}

/// The OpenAPI document of what [`configure`] serves.
#[cfg(test)]
pub fn document(surface: Surface) -> utoipa::openapi::OpenApi {
    let mut routes = Routes::new(None);
    register(&mut routes, surface);
    routes.document()
}

#[derive(Serialize, ToSchema)]
pub struct Version {
    /// This build's crate version.
    #[schema(example = "0.4.0")]
    version: &'static str,
    #[schema(example = "frontier")]
    component: &'static str,
}

/// The gateway's version.
#[utoipa::path(
    get,
    path = "/api/v1/rest/version/",
    tag = "service",
    responses((status = 200, description = "The version of this build", body = Version)),
)]
pub async fn version() -> HttpResponse {
    HttpResponse::Ok().json(Version { version: env!("CARGO_PKG_VERSION"), component: "frontier" })
}

/// An error answer, in FastAPI's shape.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong.
    detail: String,
}

/// 401 for a missing, unknown or invalid token, 403 for a token bound to other runs.
fn unauthorized(error: AuthError) -> HttpResponse {
    let status = if error.is_forbidden() { actix_web::http::StatusCode::FORBIDDEN } else { actix_web::http::StatusCode::UNAUTHORIZED };
    let mut response = detail(status, error.to_string());
    response.headers_mut().insert(actix_web::http::header::WWW_AUTHENTICATE, actix_web::http::header::HeaderValue::from_static("Bearer"));
    response
}

/// An [`ErrorDetail`] answer.
fn detail(status: actix_web::http::StatusCode, detail: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(ErrorDetail { detail: detail.into() })
}
