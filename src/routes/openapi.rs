//! The OpenAPI document, built by the same registration that gives the App its
//! routes, so the two cannot disagree.
//!
//! Each handler carries a `#[utoipa::path]` annotation: method, path,
//! parameters, answers and their schemas. `routes::register` hands every
//! handler to [`Routes::add`] once; the App gets it at the annotation's method
//! and path, and the document gets the annotation's operation. A route cannot
//! be served without being documented, nor documented without being served.
//! (`utoipa-actix-web` does the same through actix's `#[get]` macros; plain
//! handlers keep this crate's shape and one dependency fewer.)

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Components, OpenApi, RefOr, Schema};
use utoipa::Modify;

/// The document's fixed parts; its paths and schemas come from [`Routes`].
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "matyan-frontier",
        description = "Ingestion gateway of the Matyan experiment tracker. Training code streams run messages \
over one WebSocket per run; the gateway validates them and produces them to Kafka. Large blobs are uploaded \
straight to the object store with a presigned URL.\n\nEvery answer carries an `X-Request-ID` header. CORS \
preflight (`OPTIONS`) is answered on every path for the origins in `CORS_ORIGINS`.",
    ),
    tags(
        (name = "runs", description = "Run message streams (WebSocket)"),
        (name = "artifacts", description = "Presigned blob uploads"),
        (name = "service", description = "Version, health probes and metrics"),
        (name = "docs", description = "This description of the API"),
    ),
    modifiers(&AuthSchemes),
)]
struct Base;

/// `bearer` and `token`, the names the operations' `security` lists refer to.
struct AuthSchemes;

impl Modify for AuthSchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Components::new);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some("A token of `AUTH_TOKENS` / `AUTH_TOKENS_FILE`; needed only when one of them is set.".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "The same token as a `token` query parameter, for clients that cannot set headers.",
            ))),
        );
    }
}

/// Collects routes: into an App's configuration when given one, and always
/// into the document.
pub struct Routes<'a> {
    app: Option<&'a mut web::ServiceConfig>,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl<'a> Routes<'a> {
    pub fn new(app: Option<&'a mut web::ServiceConfig>) -> Self {
        Self { app, paths: Paths::new(), schemas: Vec::new() }
    }

    /// Serves `handler` where its annotation `P` (utoipa's `__path_<handler>`) says, and documents it.
    pub fn add<P, F, Args>(&mut self, handler: F)
    where
        P: utoipa::Path + utoipa::__dev::SchemaReferences + utoipa::__dev::Tags<'static>,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let operation = operation::<P>();
        // The annotation's operation id is its function's name: pairing a
        // handler with another handler's annotation fails here, at startup.
        let id = operation.operation_id.clone().unwrap_or_default();
        assert!(
            std::any::type_name::<F>().ends_with(&format!("::{id}")),
            "{} registered with the annotation of '{id}'",
            std::any::type_name::<F>()
        );
        let path = P::path();
        for method in P::methods() {
            if let Some(app) = self.app.as_deref_mut() {
                app.route(&path, web::method(actix_method(&method)).to(handler.clone()));
            }
            self.paths.add_path_operation(&path, vec![method], operation.clone());
        }
        P::schemas(&mut self.schemas);
    }

    /// Documents an operation that a middleware serves rather than a route (the metrics exporter).
    pub fn add_served_by_middleware<P: utoipa::Path + utoipa::__dev::Tags<'static>>(&mut self) {
        self.paths.add_path_operation(P::path(), P::methods(), operation::<P>());
    }

    pub fn document(self) -> OpenApi {
        let mut document = <Base as utoipa::OpenApi>::openapi();
        document.paths = self.paths;
        document.components.get_or_insert_with(Components::new).schemas.extend(self.schemas);
        document
    }
}

/// The annotation's operation with its `tag`, which utoipa keeps apart for its framework bindings.
fn operation<P: utoipa::Path + utoipa::__dev::Tags<'static>>() -> utoipa::openapi::path::Operation {
    let mut operation = P::operation();
    let tags = P::tags();
    if !tags.is_empty() {
        operation.tags.get_or_insert_with(Vec::new).extend(tags.into_iter().map(str::to_string));
    }
    operation
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::App;
    use serde_json::Value;

    use crate::routes::{configure, document, Surface};

    fn doc(metrics: bool) -> Value {
        serde_json::to_value(document(Surface { metrics })).unwrap()
    }

    /// (method, path, its documented status codes).
    fn operations(doc: &Value) -> Vec<(String, String, BTreeSet<String>)> {
        let mut found = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let statuses = operation["responses"].as_object().unwrap().keys().cloned().collect();
                found.push((method.to_ascii_uppercase(), path.clone(), statuses));
            }
        }
        found
    }

    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn the_document_lists_every_route_with_its_answers() {
        let doc = doc(true);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
        let listed: Vec<_> = operations(&doc)
            .into_iter()
            .map(|(method, path, statuses)| (method, path, statuses.into_iter().collect::<Vec<_>>().join(" ")))
            .collect();
        let mut listed: Vec<_> = listed.iter().map(|(m, p, s)| (m.as_str(), p.as_str(), s.as_str())).collect();
        listed.sort_unstable();
        let mut expected = [
            ("GET", "/api/v1/ws/runs/{run_id}", "101 400 401 403 503"),
            ("POST", "/api/v1/rest/artifacts/presign", "200 400 401 403 413 422 500 503"),
            ("GET", "/api/v1/rest/version/", "200"),
            ("GET", "/health/live/", "200"),
            ("GET", "/health/ready/", "200 503"),
            ("GET", "/metrics/", "200"),
            ("GET", "/openapi.json", "200"),
            ("GET", "/docs", "200"),
        ];
        expected.sort_unstable();
        assert_eq!(listed, expected);
        let without_metrics = operations(&self::doc(false));
        assert!(without_metrics.iter().all(|(_, path, _)| path != "/metrics/"));
        assert_eq!(without_metrics.len(), listed.len() - 1);
    }

    #[test]
    fn every_reference_resolves_and_ids_are_unique() {
        let doc = doc(true);
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("external reference {target}"));
            assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
        }
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        let tags: Vec<&str> = doc["tags"].as_array().unwrap().iter().map(|tag| tag["name"].as_str().unwrap()).collect();
        let mut ids = BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                assert!(ids.insert(operation["operationId"].as_str().unwrap()), "duplicate id {}", operation["operationId"]);
                assert!(!operation["summary"].as_str().unwrap_or_default().is_empty(), "{} has no summary", operation["operationId"]);
                let tag = operation["tags"][0].as_str().unwrap_or_default();
                assert!(tags.contains(&tag), "{} has tag '{tag}', not one of {tags:?}", operation["operationId"]);
                for requirement in operation["security"].as_array().into_iter().flatten() {
                    for scheme in requirement.as_object().unwrap().keys() {
                        assert!(schemes.contains_key(scheme), "unknown security scheme {scheme}");
                    }
                }
            }
        }
    }

    /// In process, no broker needed: each documented operation reaches a
    /// route (handlers without their actors answer 500, never 404), and no
    /// other method of the path does. `/metrics/` is the middleware's.
    #[actix_web::test]
    async fn the_app_routes_exactly_what_is_documented() {
        let surface = Surface { metrics: false };
        let app = init_service(App::new().configure(|cfg| configure(cfg, surface))).await;
        let documented = operations(&doc(false));
        for (_, path, _) in &documented {
            let uri = path.replace("{run_id}", "run-1");
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
                let request = TestRequest::default().method(method.parse().unwrap()).uri(&uri).to_request();
                let status = call_service(&app, request).await.status().as_u16();
                let is_documented = documented.iter().any(|(m, p, _)| m == method && p == path);
                if is_documented {
                    assert!(status != 404 && status != 405, "{method} {path} is documented but answers {status}");
                } else {
                    assert!(status == 404 || status == 405, "{method} {path} answers {status} but is not documented");
                }
            }
        }
    }
}
