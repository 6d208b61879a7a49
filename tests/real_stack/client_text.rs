//! Client text in answers and log lines: bounded (64 characters shown) and
//! escaped, so a huge or hostile `type` cannot make a huge log line or forge one.

use crate::support::*;
use serde_json::json;

/// Longer than any line the gateway writes about a refused frame.
const LONGEST_LINE: usize = 1024;

/// Each `type` gets an `error` answer that quotes it escaped and cut to 64
/// characters, and a log line as bounded: a 16 MiB `type` (the frame limit)
/// once gave a 16 MiB line; a newline in one forged a line of its own.
#[test]
fn a_huge_or_hostile_type_gives_a_bounded_escaped_answer_and_log_line() {
    let frontier = Frontier::start(&[]);
    let mut ws = frontier.ws(&unique_run_id());
    let huge_type = "x".repeat((16 << 20) - 64);
    let answer = ws.roundtrip(&json!({"type": huge_type}).to_string());
    let expected = format!("message 0: field 'type': unknown message type '{}…' ({} bytes)", "x".repeat(64), huge_type.len());
    assert_eq!(answer, json!({"status": "error", "error": expected}));

    let hostile = "delete_run\nERROR forged line \"quoted\" \u{1b}[31m\u{202e}";
    let answer = ws.roundtrip(&json!({"type": hostile}).to_string());
    let escaped = r#"'delete_run\nERROR forged line \"quoted\" \u{1b}[31m\u{202e}'"#;
    assert_eq!(answer, json!({"status": "error", "error": format!("message 0: field 'type': unknown message type {escaped}")}));
    assert_eq!(ws.roundtrip(&json!({"type": "add_tag", "tag_name": "after"}).to_string()), ok_answer(), "the connection stays usable");

    let logs = frontier.log_text();
    let longest = logs.lines().map(str::len).max().unwrap_or_default();
    assert!(longest < LONGEST_LINE, "a log line of {longest} bytes");
    assert!(logs.lines().any(|line| line.contains("frame rejected") && line.contains(&format!("'{}…' (16777152 bytes)", "x".repeat(64)))));
    assert!(
        logs.lines().any(|line| line.contains("frame rejected") && line.contains(escaped)),
        "the hostile type on one line, escaped:\n{logs}"
    );
    assert!(!logs.lines().any(|line| line.starts_with("ERROR forged")), "no forged line:\n{logs}");
}
