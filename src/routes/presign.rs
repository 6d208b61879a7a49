//! `POST /api/v1/rest/artifacts/presign`: body checks here (422 naming the
//! field), id checks and signing in the presign actor (400 / 501).

use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use matyan_actors::presign::{Presign, PresignError, PresignedUpload};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{detail, unauthorized, AppState, ErrorDetail};

const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

// `parse_body` reads the body field by field, to name every problem as
// FastAPI does; this type only describes it, and a test holds the two together.
/// What to presign.
#[derive(ToSchema)]
#[allow(dead_code)]
struct PresignRequest {
    /// The run the artifact belongs to: 1-128 characters, no `/` nor control characters, not `.` or `..`.
    #[schema(example = "b5cbc18e2aca42ec96d793e1e5b16ecb")]
    run_id: String,
    /// Path of the artifact inside the run: no leading `/`, no `.` or `..` segment, no control characters.
    #[schema(example = "images/step-10.png")]
    artifact_path: String,
    /// Content type the upload must be sent with (signed into the URL).
    #[schema(required = false, default = "application/octet-stream", example = "image/png")]
    content_type: String,
}

/// Where and how to upload the bytes.
#[derive(Serialize, ToSchema)]
struct PresignResponse {
    /// URL to `PUT` the bytes to, with `Content-Type` as requested.
    upload_url: String,
    /// Object key of the upload: `<run_id>/<artifact_path>`; the `blob_ref` message names it.
    #[schema(example = "b5cbc18e2aca42ec96d793e1e5b16ecb/images/step-10.png")]
    s3_key: String,
    /// Headers to send with the `PUT` besides `Content-Type` (Azure: `x-ms-blob-type`), else null.
    #[schema(required = true, value_type = Option<std::collections::BTreeMap<String, String>>)]
    headers: Option<Map<String, Value>>,
}

impl From<PresignedUpload> for PresignResponse {
    fn from(upload: PresignedUpload) -> Self {
        // Every field by name: one added to the actor's answer does not compile until it is documented here.
        let PresignedUpload { upload_url, s3_key, headers } = upload;
        Self { upload_url, s3_key, headers }
    }
}

/// A 422 answer, as FastAPI's: one entry per problem.
#[derive(Serialize, ToSchema)]
struct ValidationErrors {
    detail: Vec<FieldError>,
}

#[derive(Debug, Serialize, ToSchema)]
struct FieldError {
    /// Where: `["body"]` or `["body", "<field>"]`.
    #[schema(example = json!(["body", "run_id"]))]
    loc: Vec<&'static str>,
    #[schema(example = "Field required")]
    msg: String,
    /// pydantic's error type: `missing`, `string_type`, `json_invalid`, `model_attributes_type`.
    #[serde(rename = "type")]
    #[schema(example = "missing")]
    kind: &'static str,
}

/// One FastAPI-style validation error entry.
fn field_error(field: &'static str, msg: &str, kind: &'static str) -> FieldError {
    FieldError { loc: vec!["body", field], msg: msg.into(), kind }
}

fn string_field(body: &Map<String, Value>, field: &'static str, default: Option<&str>) -> Result<String, FieldError> {
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
fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Presign, Vec<FieldError>> {
    if !is_json(content_type) {
        return Err(vec![not_an_object()]);
    }
    let body = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(body)) => body,
        Ok(_) => return Err(vec![not_an_object()]),
        Err(e) => return Err(vec![FieldError { loc: vec!["body"], msg: format!("JSON decode error: {e}"), kind: "json_invalid" }]),
    };
    let run_id = string_field(&body, "run_id", None);
    let artifact_path = string_field(&body, "artifact_path", None);
    let content_type = string_field(&body, "content_type", Some(DEFAULT_CONTENT_TYPE));
    match (run_id, artifact_path, content_type) {
        (Ok(run_id), Ok(artifact_path), Ok(content_type)) => Ok(Presign { run_id, artifact_path, content_type }),
        (a, b, c) => Err([a.err(), b.err(), c.err()].into_iter().flatten().collect()),
    }
}

fn not_an_object() -> FieldError {
    FieldError {
        loc: vec!["body"],
        msg: "Input should be a valid dictionary or object to extract fields from".into(),
        kind: "model_attributes_type",
    }
}

/// A presigned upload URL for one artifact of a run.
///
/// The client then `PUT`s the bytes to `upload_url` with `Content-Type: <content_type>` and every header
/// of `headers`, and names `s3_key` in a `blob_ref` message. The body is read as JSON when it has no
/// Content-Type or a JSON one (`application/json`, `application/*+json`); others get 422.
#[utoipa::path(
    post,
    path = "/api/v1/rest/artifacts/presign",
    tag = "artifacts",
    request_body = PresignRequest,
    security((), ("bearer" = []), ("token" = [])),
    responses(
        (status = 200, description = "The upload URL", body = PresignResponse),
        (status = 400, description = "Invalid `run_id`, `artifact_path` or `content_type`", body = ErrorDetail),
        (status = 401, description = "Authentication is on and no token, an unknown one or an invalid JWT was sent", body = ErrorDetail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "The token may not write this run (outside its runs, or a JWT without its run claim)", body = ErrorDetail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 413, description = "Body larger than 64 KiB", body = String, content_type = "text/plain"),
        (status = 422, description = "Body not a JSON object, or a field missing or of the wrong type", body = ValidationErrors),
        (status = 500, description = "The URL could not be signed", body = ErrorDetail),
        (status = 503, description = "The key to sign with could not be had (Azure user delegation)", body = ErrorDetail),
    ),
)]
pub async fn presign(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let content_type = req.headers().get(CONTENT_TYPE).map(|value| value.to_str().unwrap_or("invalid"));
    let request = match parse_body(content_type, &body) {
        Ok(request) => request,
        Err(errors) => return HttpResponse::UnprocessableEntity().json(ValidationErrors { detail: errors }),
    };
    if let Err(error) = state.auth.authorize(&req, &request.run_id).await {
        return unauthorized(error);
    }
    match state.presign.send(request).await {
        Ok(Ok(upload)) => HttpResponse::Ok().json(PresignResponse::from(upload)),
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
        assert_eq!((errors[0].loc.as_slice(), errors[0].kind), (["body", "run_id"].as_slice(), "missing"));
        assert_eq!((errors[1].loc.as_slice(), errors[1].kind), (["body", "artifact_path"].as_slice(), "string_type"));
        assert_eq!(parse_body(json, b"[]").unwrap_err()[0].kind, "model_attributes_type");
        assert_eq!(parse_body(json, b"{").unwrap_err()[0].kind, "json_invalid");
        let ok = parse_body(json, br#"{"run_id": "r", "artifact_path": "a.png"}"#).unwrap();
        assert_eq!(ok.content_type, DEFAULT_CONTENT_TYPE);
    }

    fn schema_of<T: utoipa::PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    /// An object's keys or an array's strings, sorted.
    fn names(value: &Value) -> Vec<&str> {
        let mut names: Vec<&str> = match value {
            Value::Object(map) => map.keys().map(String::as_str).collect(),
            Value::Array(items) => items.iter().map(|item| item.as_str().unwrap()).collect(),
            _ => Vec::new(),
        };
        names.sort_unstable();
        names
    }

    #[test]
    fn the_documented_body_is_the_one_parsed() {
        let schema = schema_of::<PresignRequest>();
        let full = serde_json::json!({"run_id": "r", "artifact_path": "a.png", "content_type": "image/png"});
        assert_eq!(names(&schema["properties"]), names(&full));
        let required = names(&schema["required"]);
        for field in names(&full) {
            let mut body = full.clone();
            body.as_object_mut().unwrap().remove(field);
            match parse_body(None, body.to_string().as_bytes()) {
                Err(errors) => {
                    assert!(required.contains(&field), "{field} is needed but documented as optional");
                    assert_eq!((errors[0].loc.as_slice(), errors[0].kind), (["body", field].as_slice(), "missing"));
                }
                Ok(_) => assert!(!required.contains(&field), "{field} is optional but documented as required"),
            }
        }
        assert_eq!(schema["properties"]["content_type"]["default"], DEFAULT_CONTENT_TYPE);
    }

    #[test]
    fn the_documented_answer_is_the_one_sent() {
        let upload = PresignedUpload { upload_url: "u".into(), s3_key: "r/a".into(), headers: None };
        let sent = serde_json::to_value(PresignResponse::from(upload)).unwrap();
        let schema = schema_of::<PresignResponse>();
        assert_eq!(names(&schema["properties"]), names(&sent));
        assert_eq!(names(&schema["required"]), names(&sent), "every key is always sent");
    }

    #[test]
    fn only_json_content_types_are_read_as_json() {
        let body = br#"{"run_id": "r", "artifact_path": "a.png"}"#;
        for json in [None, Some("application/json"), Some("Application/JSON; charset=utf-8"), Some("application/vnd.api+json")] {
            assert!(parse_body(json, body).is_ok(), "{json:?}");
        }
        for other in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "jsonish"] {
            assert_eq!(parse_body(Some(other), body).unwrap_err()[0].kind, "model_attributes_type", "{other}");
        }
    }
}
