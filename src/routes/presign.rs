//! `POST /api/v1/rest/artifacts/presign`: body checks here (422 naming the
//! field), id checks and signing in the presign actor (400 / 501).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use matyan_actors::presign::{Presign, PresignError};
use serde_json::{json, Map, Value};

use super::{detail, unauthorized, AppState};

const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// One FastAPI-style validation error entry.
fn field_error(field: &str, msg: &str, kind: &str) -> Value {
    json!({"loc": ["body", field], "msg": msg, "type": kind})
}

fn string_field(body: &Map<String, Value>, field: &str, default: Option<&str>) -> Result<String, Value> {
    match (body.get(field), default) {
        (Some(Value::String(s)), _) => Ok(s.clone()),
        (None, Some(default)) => Ok(default.to_string()),
        (None, None) => Err(field_error(field, "Field required", "missing")),
        (Some(_), _) => Err(field_error(field, "Input should be a valid string", "string_type")),
    }
}

/// Parses the body; every problem is reported, each naming its field.
fn parse_body(bytes: &[u8]) -> Result<Presign, Vec<Value>> {
    let body = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(body)) => body,
        Ok(_) => return Err(vec![json!({"loc": ["body"], "msg": "Input should be a JSON object", "type": "model_attributes_type"})]),
        Err(e) => return Err(vec![json!({"loc": ["body"], "msg": format!("JSON decode error: {e}"), "type": "json_invalid"})]),
    };
    let run_id = string_field(&body, "run_id", None);
    let artifact_path = string_field(&body, "artifact_path", None);
    let content_type = string_field(&body, "content_type", Some(DEFAULT_CONTENT_TYPE));
    match (run_id, artifact_path, content_type) {
        (Ok(run_id), Ok(artifact_path), Ok(content_type)) => Ok(Presign { run_id, artifact_path, content_type }),
        (a, b, c) => Err([a.err(), b.err(), c.err()].into_iter().flatten().collect()),
    }
}

pub async fn presign(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let request = match parse_body(&body) {
        Ok(request) => request,
        Err(errors) => return detail(StatusCode::UNPROCESSABLE_ENTITY, errors),
    };
    if let Err(error) = state.auth.authorize(&req, &request.run_id) {
        return unauthorized(error);
    }
    match state.presign.send(request).await {
        Ok(Ok(upload)) => HttpResponse::Ok().json(upload),
        Ok(Err(error)) => {
            let status = match error {
                PresignError::InvalidId(_) | PresignError::InvalidContentType => StatusCode::BAD_REQUEST,
                PresignError::Signing(_) => StatusCode::INTERNAL_SERVER_ERROR,
                PresignError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            detail(status, error.to_string())
        }
        Err(mailbox) => detail(StatusCode::SERVICE_UNAVAILABLE, format!("presign actor unavailable: {mailbox}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_errors_name_their_fields() {
        let errors = parse_body(br#"{"artifact_path": 5}"#).unwrap_err();
        assert_eq!(errors[0]["loc"], json!(["body", "run_id"]));
        assert_eq!(errors[0]["type"], "missing");
        assert_eq!(errors[1]["loc"], json!(["body", "artifact_path"]));
        assert_eq!(errors[1]["type"], "string_type");
        assert_eq!(parse_body(b"[]").unwrap_err()[0]["type"], "model_attributes_type");
        assert_eq!(parse_body(b"{").unwrap_err()[0]["type"], "json_invalid");
        let ok = parse_body(br#"{"run_id": "r", "artifact_path": "a.png"}"#).unwrap();
        assert_eq!(ok.content_type, DEFAULT_CONTENT_TYPE);
    }
}
