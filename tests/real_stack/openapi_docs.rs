//! `/openapi.json` and `/docs` on the real binary: the document lists exactly
//! what the process serves (and what the contract's endpoint table names), and
//! the page renders it without fetching anything from elsewhere.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::*;
use serde_json::Value;

type Endpoint = (String, String);

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// The endpoint table of `../shared/PROTOCOL.md`: (METHOD, path).
fn contract_endpoints() -> BTreeSet<Endpoint> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/PROTOCOL.md")).expect("the contract beside the project");
    let table = text.split("\n## Endpoints").nth(1).expect("an Endpoints section").split("\n## ").next().unwrap();
    let endpoints: BTreeSet<Endpoint> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next()?.split_once(' '))
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert!(endpoints.len() >= 8, "{endpoints:?}");
    endpoints
}

/// Each documented operation and the statuses it documents.
fn documented(doc: &Value) -> BTreeMap<Endpoint, BTreeSet<u16>> {
    let mut operations = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().unwrap() {
            let statuses = operation["responses"].as_object().unwrap().keys().map(|status| status.parse().unwrap()).collect();
            operations.insert((method.to_ascii_uppercase(), path.clone()), statuses);
        }
    }
    operations
}

fn fetch_document(frontier: &Frontier) -> Value {
    let (status, headers, body) = get(&frontier.url("/openapi.json"));
    assert_eq!(status, 200, "{body}");
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"), "{headers:?}");
    let doc: Value = serde_json::from_str(&body).expect("the document is JSON");
    assert!(doc["openapi"].as_str().is_some_and(|version| version.starts_with("3.")), "openapi: {}", doc["openapi"]);
    doc
}

fn status_of(frontier: &Frontier, method: &str, path: &str) -> u16 {
    let request = http::Request::builder().method(method).uri(frontier.url(path)).body(()).unwrap();
    http().run(request).unwrap_or_else(|e| panic!("{method} {path}: {e}")).status().as_u16()
}

/// Every documented operation answers (no 404/405) with a status it documents;
/// no other method on those paths is served.
fn assert_serves_exactly(frontier: &Frontier, operations: &BTreeMap<Endpoint, BTreeSet<u16>>) {
    let paths: BTreeSet<&String> = operations.keys().map(|(_, path)| path).collect();
    for path in paths {
        let concrete = path.replace("{run_id}", &unique_run_id());
        for method in METHODS {
            let status = status_of(frontier, method, &concrete);
            match operations.get(&(method.to_string(), path.clone())) {
                Some(statuses) => assert!(statuses.contains(&status), "{method} {path} answered {status}, documented: {statuses:?}"),
                None => assert!(status == 404 || status == 405, "{method} {path} answered {status} but is not documented"),
            }
        }
    }
}

#[test]
fn the_document_lists_exactly_the_served_routes() {
    let frontier = Frontier::start(&[]);
    let operations = documented(&fetch_document(&frontier));
    assert_eq!(operations.keys().cloned().collect::<BTreeSet<_>>(), contract_endpoints(), "the document and PROTOCOL.md's endpoint table");
    assert_serves_exactly(&frontier, &operations);
}

#[test]
fn without_metrics_neither_the_route_nor_its_document_entry() {
    let frontier = Frontier::start(&[("METRICS_ENABLED", "false")]);
    let operations = documented(&fetch_document(&frontier));
    let mut expected = contract_endpoints();
    assert!(expected.remove(&("GET".to_string(), "/metrics/".to_string())));
    assert_eq!(operations.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert_serves_exactly(&frontier, &operations);
    assert_eq!(status_of(&frontier, "GET", "/metrics/"), 404);
}

#[test]
fn the_docs_page_renders_the_document_and_loads_nothing_from_elsewhere() {
    let frontier = Frontier::start(&[]);
    let operations = documented(&fetch_document(&frontier));
    let (status, headers, page) = get(&frontier.url("/docs"));
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"), "{headers:?}");
    assert!(page.starts_with("<!DOCTYPE html>"));
    for (method, path) in operations.keys() {
        assert!(page.contains(&format!("<code>{path}</code>")), "{method} {path} is not on the page");
    }
    for scheme in ["http://", "https://"] {
        for (at, _) in page.match_indices(scheme) {
            assert!(
                page[at + scheme.len()..].starts_with("127.0.0.1"),
                "external URL on the page: {}",
                &page[at..(at + 60).min(page.len())]
            );
        }
    }
    for fetching in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
        assert!(!page.contains(fetching), "the page must not load anything: found {fetching}");
    }
    // Both pages are counted under their own route, like every route.
    let (_, _, metrics) = get(&frontier.url("/metrics/"));
    for path in ["/docs", "/openapi.json"] {
        let line = format!(r#"matyan_http_requests_total{{method="GET",path_template="{path}",status_class="2xx"}}"#);
        assert!(metrics.contains(&line), "missing {line}");
    }
}
