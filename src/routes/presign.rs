//! `POST /api/v1/rest/artifacts/presign`: body checks here (422 naming the
//! field), id checks and signing in the presign actor (400 / 501).

use actix_web::http::header::CONTENT_TYPE;
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

/// As FastAPI: a body is read as JSON when it has no Content-Type or a JSON
/// one (`application/json`, `application/*+json`); any other is not an object.
fn is_json(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else { return true };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence.strip_prefix("application/").is_some_and(|subtype| subtype == "json" || subtype.ends_with("+json"))
}

/// Parses the body; every problem is reported, each naming its field.
fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Presign, Vec<Value>> {
    if !is_json(content_type) {
        return Err(vec![not_an_object()]);
    }
    let body = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(body)) => body,
        Ok(_) => return Err(vec![not_an_object()]),
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

fn not_an_object() -> Value {
    json!({"loc": ["body"], "msg": "Input should be a valid dictionary or object to extract fields from", "type": "model_attributes_type"})
}

pub async fn presign(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let content_type = req.headers().get(CONTENT_TYPE).map(|value| value.to_str().unwrap_or("invalid"));
    let request = match parse_body(content_type, &body) {
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
        let json = Some("application/json");
        let errors = parse_body(json, br#"{"artifact_path": 5}"#).unwrap_err();
        assert_eq!(errors[0]["loc"], json!(["body", "run_id"]));
        assert_eq!(errors[0]["type"], "missing");
        assert_eq!(errors[1]["loc"], json!(["body", "artifact_path"]));
        assert_eq!(errors[1]["type"], "string_type");
        assert_eq!(parse_body(json, b"[]").unwrap_err()[0]["type"], "model_attributes_type");
        assert_eq!(parse_body(json, b"{").unwrap_err()[0]["type"], "json_invalid");
        let ok = parse_body(json, br#"{"run_id": "r", "artifact_path": "a.png"}"#).unwrap();
        assert_eq!(ok.content_type, DEFAULT_CONTENT_TYPE);
    }

    #[test]
    fn only_json_content_types_are_read_as_json() {
        let body = br#"{"run_id": "r", "artifact_path": "a.png"}"#;
        for json in [None, Some("application/json"), Some("Application/JSON; charset=utf-8"), Some("application/vnd.api+json")] {
            assert!(parse_body(json, body).is_ok(), "{json:?}");
        }
        for other in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "jsonish"] {
            assert_eq!(parse_body(Some(other), body).unwrap_err()[0]["type"], "model_attributes_type", "{other}");
        }
    }
}
