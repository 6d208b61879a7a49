//! `GET /api/v1/ws/runs/{run_id}`: checks the run id and the connection limit,
//! then hands the connection to a new session actor.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use matyan_actors::connections::AdmissionError;
use matyan_actors::ids::validate_run_id;
use matyan_actors::protocol::KeyScope;
use matyan_actors::ws_session::WsSession;

use super::{detail, unauthorized, AppState, ErrorDetail};

/// The WebSocket of one training run: JSON messages in, one answer per frame out.
///
/// Each text frame holds one JSON message object or an array of them (`type` is one of `create_run`,
/// `log_metric`, `log_hparams`, `finish_run`, `set_run_property`, `add_tag`, `remove_tag`,
/// `log_custom_object`, `log_terminal_line`, `log_record`, `blob_ref`; the run id comes from the path).
/// Every frame gets exactly one text answer, in frame order: `{"status": "ok", "error": null}` once
/// Kafka has acknowledged every message of the frame, or `{"status": "error", "error": "<why>"}`. A
/// frame is published whole or not at all: an invalid message rejects the frame, naming its index and
/// field, and the connection stays open. With authentication on, an object key a message names (`blob_ref`'s
/// `s3_key`, a `log_custom_object`'s `value.s3_key`) must be this run's, `<run_id>/<path>` as presign gives it,
/// else the frame is refused. Binary frames are refused the same way. Frames may be
/// pipelined; while too many are unanswered, the socket is not read (TCP pushes back). Pings are
/// answered. A frame larger than `WS_MAX_FRAME_BYTES` closes the connection with 1009; shutdown
/// closes it with 1001 after answering the frames received.
#[utoipa::path(
    get,
    path = "/api/v1/ws/runs/{run_id}",
    tag = "runs",
    params(("run_id" = String, Path, description = "The run: 1-128 characters, no `/` nor control characters, not `.` or `..`")),
    security((), ("bearer" = []), ("token" = [])),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, description = "Invalid run id (JSON detail), or not a WebSocket handshake", body = ErrorDetail),
        (status = 401, description = "Authentication is on and no token, an unknown one or an invalid JWT was sent", body = ErrorDetail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "The token may not write this run (outside its runs, or a JWT without its run claim)", body = ErrorDetail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 503, description = "`WS_MAX_CONNECTIONS` connections are open, or the server is shutting down", body = ErrorDetail),
    ),
)]
pub async fn upgrade(
    req: HttpRequest,
    stream: web::Payload,
    run_id: web::Path<String>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if let Err(error) = state.auth.authorize(&req, &run_id).await {
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
        state.producer.publish.clone(),
        state.session_limits,
        Arc::clone(&state.inflight_budget),
        state.session_metrics.clone(),
        slot,
    )
    // A token may be bound to some runs: their messages name only their own objects, as presign signs only those.
    .with_key_scope(if state.auth.enabled() { KeyScope::OwnRun } else { KeyScope::Any });
    session.start(&req, stream)
}
