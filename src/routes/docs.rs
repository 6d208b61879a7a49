//! `GET /openapi.json` and `GET /docs`: the OpenAPI document, and a plain
//! HTML page made from it.
//!
//! The page has no script, stylesheet or image to fetch: it renders where the
//! gateway has no internet access (a CDN-hosted Swagger UI would not), and a
//! vendored Swagger UI would add a megabyte of JavaScript and a zip-extracting
//! build script for a handful of routes. Both bodies are made once, when the
//! App is configured.

use std::fmt::Write;

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

/// The two bodies, ready to send.
pub struct Pages {
    json: web::Bytes,
    html: web::Bytes,
}

impl Pages {
    pub fn new(document: &utoipa::openapi::OpenApi) -> Self {
        let json = document.to_json().expect("the OpenAPI document is plain data");
        let value = serde_json::from_str(&json).expect("the OpenAPI document is plain data");
        // serde_json's maps are sorted; the page follows the document's own path order.
        let order: Vec<&str> = document.paths.paths.keys().map(String::as_str).collect();
        Self { html: web::Bytes::from(render(&value, &order)), json: web::Bytes::from(json) }
    }
}

/// The OpenAPI 3 document of this API (what `/docs` renders).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "docs",
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json")),
)]
pub async fn openapi_json(pages: web::Data<Pages>) -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::json()).body(pages.json.clone())
}

/// A page describing this API, made from the OpenAPI document; it loads nothing from elsewhere.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "docs",
    responses((status = 200, description = "The HTML page", body = String, content_type = "text/html")),
)]
pub async fn docs(pages: web::Data<Pages>) -> HttpResponse {
    HttpResponse::Ok().content_type(ContentType::html()).body(pages.html.clone())
}

const STYLE: &str = "
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 64rem; padding: 1rem 1.5rem 4rem; color: #1d232a; }
h1 small { font-weight: normal; color: #5b6570; font-size: 60%; }
h2 { border-bottom: 1px solid #d5dbe1; padding-bottom: .2rem; margin-top: 2.2rem; }
section { border: 1px solid #d5dbe1; border-radius: 6px; padding: .2rem 1rem .6rem; margin: 1rem 0; }
section h3 { font-size: 1.05rem; }
code { font: 13px ui-monospace, monospace; background: #f0f3f6; padding: 0 .25rem; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid #e6eaee; }
th { font-size: 85%; color: #5b6570; font-weight: 600; }
.method { display: inline-block; min-width: 3.6rem; text-align: center; color: #fff; border-radius: 3px; font: 600 12px ui-monospace, monospace; padding: .15rem .3rem; }
.get { background: #2f6fb3; } .post { background: #2b8a4b; } .put, .patch { background: #b7791f; } .delete { background: #b83232; }
.head, .options, .trace { background: #5b6570; }
nav ul { list-style: none; padding-left: 0; } nav li { margin: .2rem 0; }
.muted { color: #5b6570; }
";

/// The whole page, paths in `order`.
fn render(doc: &Value, order: &[&str]) -> String {
    let info = &doc["info"];
    let title = info["title"].as_str().unwrap_or("API");
    let version = info["version"].as_str().unwrap_or_default();
    let operations = operations(doc, order);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} {} API</title><style>{STYLE}</style></head><body>\n<h1>{} <small>{}</small></h1>\n{}\
         <p class=\"muted\">OpenAPI {} document: <a href=\"/openapi.json\"><code>/openapi.json</code></a></p>\n",
        escape(title),
        escape(version),
        escape(title),
        escape(version),
        paragraphs(info["description"].as_str().unwrap_or_default()),
        escape(doc["openapi"].as_str().unwrap_or_default()),
    );

    page.push_str("<nav><h2>Operations</h2><ul>\n");
    for op in &operations {
        let _ = writeln!(
            page,
            "<li><a href=\"#{}\">{} <code>{}</code></a> {}</li>",
            op.anchor(),
            method_badge(&op.method),
            escape(&op.path),
            inline(op.body["summary"].as_str().unwrap_or_default()),
        );
    }
    page.push_str("</ul></nav>\n");

    let tags = doc["tags"].as_array().map(Vec::as_slice).unwrap_or_default();
    for tag in tags {
        let name = tag["name"].as_str().unwrap_or_default();
        let tagged: Vec<_> = operations.iter().filter(|op| op.first_tag() == Some(name)).collect();
        if tagged.is_empty() {
            continue;
        }
        let _ = writeln!(page, "<h2>{}</h2>{}", escape(name), paragraphs(tag["description"].as_str().unwrap_or_default()));
        for op in tagged {
            operation(&mut page, op);
        }
    }
    let untagged: Vec<_> = operations.iter().filter(|op| !tags.iter().any(|tag| op.first_tag() == tag["name"].as_str())).collect();
    if !untagged.is_empty() {
        page.push_str("<h2>Other</h2>\n");
        for op in untagged {
            operation(&mut page, op);
        }
    }

    let components = &doc["components"];
    if let Some(schemes) = components["securitySchemes"].as_object() {
        page.push_str("<h2>Authentication</h2>\n<table><tr><th>Scheme</th><th>How</th><th>Description</th></tr>\n");
        for (name, scheme) in schemes {
            let how = match scheme["type"].as_str() {
                Some("http") => {
                    format!("HTTP <code>Authorization: {} &lt;token&gt;</code>", capitalized(scheme["scheme"].as_str().unwrap_or_default()))
                }
                Some("apiKey") => format!(
                    "{} parameter <code>{}</code>",
                    escape(scheme["in"].as_str().unwrap_or_default()),
                    escape(scheme["name"].as_str().unwrap_or_default())
                ),
                other => escape(other.unwrap_or_default()),
            };
            let _ = writeln!(
                page,
                "<tr><td id=\"auth-{}\"><code>{}</code></td><td>{how}</td><td>{}</td></tr>",
                escape(name),
                escape(name),
                inline(scheme["description"].as_str().unwrap_or_default())
            );
        }
        page.push_str("</table>\n");
    }
    if let Some(schemas) = components["schemas"].as_object() {
        page.push_str("<h2>Schemas</h2>\n");
        for (name, schema) in schemas {
            let _ = write!(
                page,
                "<section id=\"schema-{}\"><h3>{}</h3>{}",
                escape(name),
                escape(name),
                paragraphs(schema["description"].as_str().unwrap_or_default())
            );
            schema_body(&mut page, schema);
            page.push_str("</section>\n");
        }
    }
    page.push_str("</body></html>\n");
    page
}

struct Operation<'a> {
    path: String,
    method: String,
    body: &'a Value,
}

impl Operation<'_> {
    fn anchor(&self) -> String {
        format!("op-{}", escape(self.body["operationId"].as_str().unwrap_or_default()))
    }

    fn first_tag(&self) -> Option<&str> {
        self.body["tags"].get(0).and_then(Value::as_str)
    }
}

/// Every operation, paths in `order` first.
fn operations<'a>(doc: &'a Value, order: &[&str]) -> Vec<Operation<'a>> {
    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let Some(paths) = doc["paths"].as_object() else { return Vec::new() };
    let mut paths: Vec<_> = paths.iter().collect();
    paths.sort_by_key(|(path, _)| order.iter().position(|p| p == path).unwrap_or(usize::MAX));
    paths
        .into_iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter_map(move |method| item.get(*method).map(|body| Operation { path: path.clone(), method: method.to_string(), body }))
        })
        .collect()
}

fn operation(page: &mut String, op: &Operation) {
    let body = op.body;
    let _ = write!(
        page,
        "<section id=\"{}\"><h3>{} <code>{}</code></h3><p><strong>{}</strong></p>{}",
        op.anchor(),
        method_badge(&op.method),
        escape(&op.path),
        inline(body["summary"].as_str().unwrap_or_default()),
        paragraphs(body["description"].as_str().unwrap_or_default()),
    );
    if let Some(requirements) = body["security"].as_array() {
        let schemes: Vec<String> = requirements
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|requirement| requirement.keys())
            .map(|name| format!("<a href=\"#auth-{}\"><code>{}</code></a>", escape(name), escape(name)))
            .collect();
        let optional = requirements.iter().any(|requirement| requirement.as_object().is_some_and(Map::is_empty));
        let _ = write!(
            page,
            "<p>Authentication: {}{}</p>",
            schemes.join(" or "),
            if optional { " (only when tokens are configured)" } else { "" }
        );
    }
    if let Some(parameters) = body["parameters"].as_array() {
        page.push_str("<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>");
        for parameter in parameters {
            let _ = write!(
                page,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(parameter["name"].as_str().unwrap_or_default()),
                if parameter["required"] == Value::Bool(true) { " <span class=\"muted\">required</span>" } else { "" },
                escape(parameter["in"].as_str().unwrap_or_default()),
                type_html(&parameter["schema"]),
                inline(parameter["description"].as_str().unwrap_or_default()),
            );
        }
        page.push_str("</table>");
    }
    if let Some(request) = body.get("requestBody") {
        let _ = write!(
            page,
            "<p>Request body{}: {}</p>{}",
            if request["required"] == Value::Bool(true) { "" } else { " (optional)" },
            content_html(&request["content"]),
            paragraphs(request["description"].as_str().unwrap_or_default()),
        );
    }
    page.push_str("<table><tr><th>Status</th><th>Description</th><th>Body</th></tr>");
    for (status, response) in body["responses"].as_object().into_iter().flatten() {
        let headers: Vec<String> = response["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, header)| {
                format!(
                    "<br><span class=\"muted\">header</span> <code>{}</code> {}",
                    escape(name),
                    inline(header["description"].as_str().unwrap_or_default())
                )
            })
            .collect();
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}{}</td><td>{}</td></tr>",
            escape(status),
            inline(response["description"].as_str().unwrap_or_default()),
            headers.concat(),
            content_html(&response["content"]),
        );
    }
    page.push_str("</table></section>\n");
}

/// `media/type`: schema, for each content type.
fn content_html(content: &Value) -> String {
    let Some(content) = content.as_object() else { return "<span class=\"muted\">none</span>".into() };
    content
        .iter()
        .map(|(media, body)| {
            let example = body
                .get("example")
                .map(|example| format!("<br><span class=\"muted\">e.g.</span> <code>{}</code>", escape(&example.to_string())))
                .unwrap_or_default();
            format!("<code>{}</code> {}{example}", escape(media), type_html(&body["schema"]))
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// A component schema: its properties, or its values.
fn schema_body(page: &mut String, schema: &Value) {
    if let Some(properties) = schema["properties"].as_object() {
        let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        page.push_str("<table><tr><th>Property</th><th>Type</th><th>Description</th></tr>");
        for (name, property) in properties {
            let mut notes = String::new();
            if let Some(default) = property.get("default") {
                let _ = write!(notes, " <span class=\"muted\">default</span> <code>{}</code>", escape(&default.to_string()));
            }
            if let Some(example) = property.get("example").or_else(|| property["examples"].get(0)) {
                let _ = write!(notes, " <span class=\"muted\">e.g.</span> <code>{}</code>", escape(&example.to_string()));
            }
            let _ = write!(
                page,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}{notes}</td></tr>",
                escape(name),
                if required.contains(&name.as_str()) { " <span class=\"muted\">required</span>" } else { "" },
                type_html(property),
                inline(property["description"].as_str().unwrap_or_default()),
            );
        }
        page.push_str("</table>");
    } else {
        let _ = write!(page, "<p>{}</p>", type_html(schema));
    }
}

/// A schema as a short type expression, with links to named schemas.
fn type_html(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{}\">{}</a>", escape(name), escape(name));
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = schema[combinator].as_array() {
            let separator = if combinator == "allOf" { " &amp; " } else { " | " };
            return variants.iter().map(type_html).collect::<Vec<_>>().join(separator);
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return values.iter().map(|value| format!("<code>{}</code>", escape(&value.to_string()))).collect::<Vec<_>>().join(" | ");
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(single) => vec![single.as_str()],
        Value::Array(several) => several.iter().filter_map(Value::as_str).collect(),
        _ => return "any".into(),
    };
    types
        .iter()
        .map(|kind| match *kind {
            "array" => format!("array of {}", type_html(&schema["items"])),
            "object" if schema["additionalProperties"].is_object() => format!("object of {}", type_html(&schema["additionalProperties"])),
            other => match schema["format"].as_str() {
                Some(format) => format!("{} ({})", escape(other), escape(format)),
                None => escape(other),
            },
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn method_badge(method: &str) -> String {
    format!("<span class=\"method {}\">{}</span>", escape(method), escape(&method.to_ascii_uppercase()))
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).map(|word| escape(&word)).unwrap_or_default()
}

/// Text with `code` spans, escaped.
fn inline(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { format!("<code>{part}</code>") } else { part.to_string() })
        .collect()
}

/// Blank-line separated paragraphs.
fn paragraphs(text: &str) -> String {
    text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).map(|p| format!("<p>{}</p>", inline(&p.replace('\n', " ")))).collect()
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{document, Surface};

    #[test]
    fn the_page_shows_every_operation_and_schema_and_loads_nothing() {
        let doc = serde_json::to_value(document(Surface { metrics: true })).unwrap();
        let page = render(&doc, &[]);
        for op in operations(&doc, &[]) {
            assert!(page.contains(&format!("<code>{}</code>", escape(&op.path))), "{}", op.path);
            assert!(page.contains(&format!("id=\"{}\"", op.anchor())), "{}", op.anchor());
        }
        for name in doc["components"]["schemas"].as_object().unwrap().keys() {
            assert!(page.contains(&format!("id=\"schema-{name}\"")), "{name}");
        }
        for external in ["http://", "https://", "<script", "<link", "src=", "@import", "url("] {
            assert!(!page.contains(external), "the page must not load anything: found {external}");
        }
    }

    #[test]
    fn text_is_escaped_and_code_spans_kept() {
        assert_eq!(inline("a <b> & `c<d>`"), "a &lt;b&gt; &amp; <code>c&lt;d&gt;</code>");
        assert_eq!(paragraphs("one\ntwo\n\nthree"), "<p>one two</p><p>three</p>");
    }
}
