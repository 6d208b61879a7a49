//! Every response carries `X-Request-ID`, a fresh UUID that the access log
//! line carries too.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn assign(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid header value");
    let mut response = next.call(req).await?;
    response.headers_mut().insert(REQUEST_ID, id);
    Ok(response)
}
