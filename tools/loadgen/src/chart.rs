//! The benchmark's picture: msgs/s and p99 latency by connection count, one
//! line per subject (ours, before, the reference, the ceiling), as SVG.

use std::fmt::Write;

use crate::bench::Results;
use crate::result::{Phase, Subject};

/// The series drawn: the 100-message stop-and-wait loads without compression.
const BATCH: usize = 100;
const PANEL_WIDTH: f64 = 360.0;
const PANEL_HEIGHT: f64 = 220.0;
const MARGIN: f64 = 60.0;

/// What a panel plots of a phase.
type Measure = fn(&Phase) -> f64;

const SUBJECTS: [(Subject, &str); 4] =
    [(Subject::Ours, "#1f77b4"), (Subject::Before, "#9467bd"), (Subject::Reference, "#d62728"), (Subject::RawProducer, "#7f7f7f")];

/// `None` when no phase has the drawn load (the smoke run has no connection sweep).
pub fn svg(results: &Results) -> Option<String> {
    let drawn: Vec<&Phase> =
        results.phases.iter().filter(|p| p.shape.batch == BATCH && p.shape.pause_ms == 0.0 && p.codec == "none").collect();
    let mut connections: Vec<usize> = drawn.iter().map(|p| p.shape.connections).collect();
    connections.sort_unstable();
    connections.dedup();
    if connections.len() < 2 {
        return None;
    }
    let width = 2.0 * (PANEL_WIDTH + 2.0 * MARGIN);
    let height = PANEL_HEIGHT + 2.0 * MARGIN + 20.0;
    let mut out =
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#);
    out.push_str(&format!(r#"<rect width="{width}" height="{height}" fill="white"/>"#));
    let panels: [(&str, Measure); 2] =
        [("messages acknowledged per second", Phase::messages_per_second), ("p99 frame latency, ms", |p| p.latency.p99)];
    for (index, (title, value)) in panels.into_iter().enumerate() {
        let left = MARGIN + index as f64 * (PANEL_WIDTH + 2.0 * MARGIN);
        panel(&mut out, left, title, &connections, &drawn, value);
    }
    let mut x = MARGIN;
    for (subject, colour) in SUBJECTS.iter().filter(|(s, _)| drawn.iter().any(|p| p.subject == *s)) {
        let y = height - 15.0;
        let _ = write!(
            out,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{colour}"/><text x="{}" y="{y}">{subject}</text>"#,
            y - 10.0,
            x + 16.0
        );
        x += 200.0;
    }
    out.push_str("</svg>\n");
    Some(out)
}

/// One panel: connection counts evenly spaced along x, `value` from 0 up on y.
fn panel(out: &mut String, left: f64, title: &str, connections: &[usize], drawn: &[&Phase], value: Measure) {
    let top = MARGIN;
    let bottom = top + PANEL_HEIGHT;
    let max = drawn.iter().map(|p| value(p)).fold(0.0, f64::max).max(f64::MIN_POSITIVE) * 1.1;
    let x_of = |c: usize| {
        let i = connections.iter().position(|&n| n == c).unwrap_or(0) as f64;
        left + PANEL_WIDTH * i / (connections.len() - 1) as f64
    };
    let y_of = |v: f64| bottom - PANEL_HEIGHT * v / max;
    let _ = write!(out, r#"<text x="{left}" y="{}" font-weight="bold">{title}</text>"#, top - 20.0);
    let _ = write!(out, r##"<path d="M{left} {top}V{bottom}H{}" stroke="#333" fill="none"/>"##, left + PANEL_WIDTH);
    for tick in 0..=4 {
        let v = max * tick as f64 / 4.0;
        let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, left - 6.0, y_of(v) + 4.0, short(v));
    }
    for &c in connections {
        let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="middle">{c}</text>"#, x_of(c), bottom + 16.0);
    }
    let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="middle">connections</text>"#, left + PANEL_WIDTH / 2.0, bottom + 34.0);
    for (subject, colour) in SUBJECTS {
        let mut points: Vec<(f64, f64)> =
            drawn.iter().filter(|p| p.subject == subject).map(|p| (x_of(p.shape.connections), y_of(value(p)))).collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if points.is_empty() {
            continue;
        }
        let line: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(out, r#"<polyline points="{}" stroke="{colour}" stroke-width="2" fill="none"/>"#, line.join(" "));
        for (x, y) in points {
            let _ = write!(out, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#);
        }
    }
}

/// 230052 → 230k, 12.5 → 12.5.
fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::result::Latencies;
    use crate::LoadShape;

    fn phase(subject: Subject, connections: usize, acked: u64, p99: f64) -> Phase {
        Phase {
            subject,
            shape: LoadShape { connections, batch: BATCH, seconds: 1.0, pause_ms: 0.0 },
            codec: "none",
            elapsed: Duration::from_secs(1),
            acked_messages: acked,
            errors: 0,
            latency: Latencies { p50: 1.0, p99, p999: p99 },
            cpu: Duration::ZERO,
            records_in_kafka: None,
        }
    }

    #[test]
    fn draws_one_line_per_subject_in_each_panel() {
        let phases = vec![
            phase(Subject::Ours, 1, 20_000, 5.0),
            phase(Subject::Ours, 64, 230_000, 30.0),
            phase(Subject::Reference, 1, 2_000, 40.0),
            phase(Subject::Reference, 64, 13_000, 600.0),
        ];
        let svg = svg(&Results { phases, idle: vec![] }).expect("two connection counts");
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 4, "ours and the reference, in two panels");
        assert!(svg.contains(">ours<") && svg.contains(">reference (Python 0.3.0)<") && !svg.contains("ceiling"));
    }

    #[test]
    fn a_run_without_a_connection_sweep_has_no_chart() {
        let phases = vec![phase(Subject::Ours, 4, 1000, 5.0)];
        assert!(svg(&Results { phases, idle: vec![] }).is_none(), "the smoke run: one connection count");
    }
}
