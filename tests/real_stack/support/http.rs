//! Plain HTTP requests, and URL encoding as the stores expect it.

use std::time::Duration;

use serde_json::Value;

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn url_component(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// An object key as it appears in a path-style URL (slashes kept).
pub fn url_path(key: &str) -> String {
    key.split('/').map(url_component).collect::<Vec<_>>().join("/")
}

pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(20))).build().into()
}

/// GET, answering (status, headers, body as JSON or string).
pub fn get(url: &str) -> (u16, http::HeaderMap, String) {
    let mut response = http().get(url).call().expect("GET");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.body_mut().read_to_string().unwrap())
}

pub fn post_json(url: &str, body: &str) -> (u16, Value) {
    let mut response = http().post(url).header("content-type", "application/json").send(body).expect("POST");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
