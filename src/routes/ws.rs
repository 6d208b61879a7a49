//! `GET /api/v1/ws/runs/{run_id}`: checks the run id and the connection limit,
//! then hands the connection to a new session actor.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use matyan_actors::connections::AdmissionError;
use matyan_actors::ids::validate_run_id;
use matyan_actors::ws_session::WsSession;

use super::{detail, unauthorized, AppState};

pub async fn upgrade(
    req: HttpRequest,
    stream: web::Payload,
    run_id: web::Path<String>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if let Err(error) = state.auth.authorize(&req, &run_id) {
        return Ok(unauthorized(error));
    }
    if let Err(error) = validate_run_id(&run_id) {
        return Ok(detail(StatusCode::BAD_REQUEST, error.to_string()));
    }
    let slot = match state.connections.admit() {
        Ok(slot) => slot,
        Err(error @ (AdmissionError::Full(_) | AdmissionError::ShuttingDown)) => {
            log::warn!("run={run_id} connection refused: {error}");
            return Ok(detail(StatusCode::SERVICE_UNAVAILABLE, error.to_string()));
        }
    };
    let session = WsSession::new(
        &run_id,
        state.producer.clone(),
        state.session_limits,
        Arc::clone(&state.inflight_budget),
        state.session_metrics.clone(),
        slot,
    );
    session.start(&req, stream)
}
