//! The process's log lines: env_logger's text, or one JSON object a line
//! (`LOG_FORMAT=json`) whose context fields are read from the text's own
//! `conn=… run=…` and `request_id=…` prefixes, so call sites log one way.

use std::io::Write;

use env_logger::fmt::Formatter;
use log::Record;
use serde_json::{Map, Value};

/// How each log line is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// env_logger's text: `[timestamp LEVEL target] message`.
    #[default]
    Text,
    /// One JSON object a line: `timestamp`, `level`, `target`, `message`, and `conn`, `run`, `request_id`, `path`
    /// when the line has them.
    Json,
}

/// The `key=value` prefixes that session lines (`conn=… run=…`) and access lines (`request_id=…`) start with.
const CONTEXT_KEYS: [&str; 3] = ["conn", "run", "request_id"];

/// Installs the logger for the whole process.
pub fn init(filter: log::LevelFilter, format: LogFormat) {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(filter).format_timestamp_micros();
    if format == LogFormat::Json {
        builder.format(write_json);
    }
    builder.init();
}

fn write_json(buf: &mut Formatter, record: &Record<'_>) -> std::io::Result<()> {
    let text = record.args().to_string();
    let mut line = json_line(&text);
    line.insert("timestamp".into(), buf.timestamp_micros().to_string().into());
    line.insert("level".into(), record.level().as_str().into());
    line.insert("target".into(), record.target().into());
    writeln!(buf, "{}", Value::Object(line))
}

/// The message and context fields of one line's text.
fn json_line(text: &str) -> Map<String, Value> {
    let mut line = Map::new();
    let mut message = text;
    while let Some((key, value, rest)) = context_prefix(message) {
        line.insert(key.into(), value.into());
        message = rest;
    }
    // An access line: `request_id=… 127.0.0.1 "GET /path" 200 …` (the path without its query string).
    if line.contains_key("request_id") {
        if let Some(path) = message.split('"').nth(1).and_then(|request| request.split(' ').nth(1)) {
            line.insert("path".into(), path.into());
        }
    }
    line.insert("message".into(), message.into());
    line
}

/// `key=value rest` with `key` one of [`CONTEXT_KEYS`].
fn context_prefix(text: &str) -> Option<(&str, &str, &str)> {
    let (token, rest) = text.split_once(' ').unwrap_or((text, ""));
    let (key, value) = token.split_once('=')?;
    CONTEXT_KEYS.contains(&key).then_some((key, value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn session_and_access_lines_become_fields() {
        assert_eq!(
            Value::Object(json_line("conn=7 run=r-1 frame rejected: expected value at line 1")),
            json!({"conn": "7", "run": "r-1", "message": "frame rejected: expected value at line 1"})
        );
        assert_eq!(
            Value::Object(json_line(r#"request_id=5f0c 127.0.0.1 "GET /health/live/" 200 15 0.3ms"#)),
            json!({"request_id": "5f0c", "path": "/health/live/", "message": r#"127.0.0.1 "GET /health/live/" 200 15 0.3ms"#})
        );
    }

    #[test]
    fn other_lines_keep_their_text_whole() {
        // An `=` that is not a context key stays in the message; so does a quoted text without a request id.
        for text in ["librdkafka: Local: All broker connections are down", "linger=5 \"a b\"", "conn=1", ""] {
            let line = json_line(text);
            let expected = if text == "conn=1" { json!({"conn": "1", "message": ""}) } else { json!({"message": text}) };
            assert_eq!(Value::Object(line), expected, "{text:?}");
        }
    }
}
