//! `matyan_http_requests_total` and `matyan_http_request_duration_seconds`
//! with the labels the dashboards use: method, path_template, status_class.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    durations: HistogramVec,
}

const LABELS: [&str; 3] = ["method", "path_template", "status_class"];

impl HttpMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(Opts::new("matyan_http_requests_total", "HTTP requests"), &LABELS)?;
        let durations = HistogramVec::new(HistogramOpts::new("matyan_http_request_duration_seconds", "HTTP request durations"), &LABELS)?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        Ok(Self { requests, durations })
    }
}

/// The route's pattern with every `{param}` written `{id}` (what the reference
/// gets by replacing ids in the path); unknown paths share one label.
fn path_template(req: &ServiceRequest) -> String {
    let Some(pattern) = req.match_pattern() else { return "<unmatched>".into() };
    pattern.split('/').map(|segment| if segment.starts_with('{') { "{id}" } else { segment }).collect::<Vec<_>>().join("/")
}

/// The method as a label: one of the standard nine, else `OTHER`. Any token
/// is a valid method, and each one kept as it came would be a new series on
/// every request (`/metrics/` grew 371 KB from 200 invented ones).
pub fn method_label(method: &Method) -> &'static str {
    const STANDARD: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];
    // Methods are case-sensitive (RFC 9110): `get` is not `GET`.
    STANDARD.into_iter().find(|name| *name == method.as_str()).unwrap_or("OTHER")
}

pub async fn record(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let metrics = req.app_data::<web::Data<HttpMetrics>>().cloned();
    let method = method_label(req.method());
    let template = path_template(&req);
    let started = Instant::now();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let status_class = format!("{}xx", response.status().as_u16() / 100);
        let labels = [method, template.as_str(), status_class.as_str()];
        metrics.requests.with_label_values(&labels).inc();
        metrics.durations.with_label_values(&labels).observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}
