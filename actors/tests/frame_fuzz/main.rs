//! Mutational fuzzing of the frame encoder (`protocol::FrameEncoder`) on stable Rust:
//! no nightly, no coverage instrumentation, bounded by time.
//!
//! The seeds are the frames in `fuzz/corpus/frames/` (one per file). Each execution
//! takes a seed, or an input found earlier (accepted, or rejected with an error not
//! seen before), applies 1–8 random mutations (bytes, JSON tokens, interesting
//! values, nesting, splicing) and checks the answer against invariants that hold for
//! any text a client can send:
//!
//! - `no-panic`: the encoder answers, it never panics;
//! - `error-message`: a refusal says why (a non-empty message);
//! - `deterministic`: the same text gives the same bytes (or the same error) twice;
//! - `json-verdict`: a frame is accepted, or refused as "not an object or array",
//!   only if it is JSON once `NaN`/`Infinity` are rewritten; "invalid JSON" only if
//!   not, or if it holds a lone surrogate escape or a number beyond f64 (serde_json
//!   refuses those);
//! - `error-index`: an error names a message that exists in the frame;
//! - `frame-structure`: one record per message, every message a JSON object whose
//!   `type` is the record's, no field given twice;
//! - `record-json`, `envelope`: each record is JSON `{"type","run_id","timestamp","payload"}`
//!   with a known type, the connection's run id and the frame's receive time;
//! - `payload-fields`: the payload holds exactly the fields the protocol's table
//!   publishes for the type, in order, and strings and objects are the client's
//!   own text;
//! - `client-datetime`: a published datetime is one Python's `isoformat()` can write;
//! - `record-limit`: a limit equal to the largest record accepts the frame, one byte
//!   less refuses it as too large, at the first record of that size;
//! - `round-trip`: a payload sent back as a message is published unchanged.
//!
//! `FRAME_FUZZ_SECONDS` (default 10) bounds the timed run; `FRAME_FUZZ_SEED` fixes
//! its random seed (printed by every run) and `FRAME_FUZZ_RUNS` stops it after that
//! many executions, which together replay a run exactly. `FRAME_FUZZ_ALLOW` (invariant
//! names, comma-separated) counts breaks of known, not yet fixed invariants without
//! failing, so that the run goes on looking for others:
//!
//! ```text
//! FRAME_FUZZ_SECONDS=60 cargo test -p matyan-actors --test frame_fuzz -- --nocapture
//! ```
//!
//! The parts: [`mutator`] makes inputs, [`invariants`] checks answers with the
//! help of [`json_oracle`], a JSON reader of its own (not serde's).

mod invariants;
mod json_oracle;
mod mutator;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use matyan_actors::protocol::MessageType;

use invariants::{run_one, Target, Violation};
use mutator::{next_input, Lexed, Rng};

/// Inputs kept for further mutation, at most.
const POOL_CAP: usize = 10_000;
/// Larger inputs are run but not kept: they slow every later execution.
const POOL_MAX_INPUT: usize = 64 << 10;
const DISTINCT_OUTCOMES_CAP: usize = 100_000;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/frames")
}

/// Every seed, by file name.
fn load_corpus() -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir();
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a corpus entry").path();
            let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, bytes)
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// Replays every seed once: quick and deterministic.
#[test]
fn corpus_seeds_keep_every_invariant() {
    let target = Target::new();
    let seeds = load_corpus();
    let mut published = HashSet::new();
    let (mut accepted, mut rejected) = (0, 0);
    let mut failures = Vec::new();
    for (name, bytes) in &seeds {
        let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{name} is not UTF-8: {e}"));
        match run_one(&target, text) {
            Ok(outcome) if outcome.accepted => {
                accepted += 1;
                published.extend(outcome.types);
            }
            Ok(_) => rejected += 1,
            Err(violation) => failures.push(format!("{name}: invariant `{}` broken: {}", violation.invariant, violation.detail)),
        }
    }
    assert!(failures.is_empty(), "{} of {} seeds break an invariant:\n{}", failures.len(), seeds.len(), failures.join("\n"));
    let missing: Vec<_> = MessageType::ALL.iter().filter(|t| !published.contains(*t)).map(|t| t.as_str()).collect();
    assert!(missing.is_empty(), "no seed publishes {missing:?}");
    assert!(rejected > 0, "no seed is refused");
    println!("frame fuzz corpus: {} seeds, {accepted} accepted, {rejected} rejected", seeds.len());
}

/// Mutates the seeds until `FRAME_FUZZ_SECONDS` have passed.
#[test]
fn fuzz_frames_for_a_while() {
    let seconds: f64 = env_number("FRAME_FUZZ_SECONDS").unwrap_or(10.0);
    let max_runs: Option<u64> = env_number("FRAME_FUZZ_RUNS");
    let seed: u64 = env_number("FRAME_FUZZ_SEED").unwrap_or_else(|| {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        nanos ^ (u64::from(std::process::id()) << 32)
    });
    let allowed: Vec<String> = std::env::var("FRAME_FUZZ_ALLOW")
        .map(|list| list.split(',').map(|name| name.trim().to_owned()).filter(|name| !name.is_empty()).collect())
        .unwrap_or_default();
    let target = Target::new();
    let seeds: Vec<Vec<u8>> = load_corpus().into_iter().map(|(_, bytes)| bytes).collect();
    println!("frame fuzz: seed {seed}, {seconds} s, {} corpus seeds (FRAME_FUZZ_SEED={seed} repeats this run)", seeds.len());

    let mut rng = Rng::new(seed);
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut outcomes: HashSet<String> = HashSet::new();
    let mut stats = Stats::default();
    let mut findings: Vec<Finding> = Vec::new();
    // Shrinking findings takes time from the run as well: a little, in all.
    let mut minimize_budget = Duration::from_secs(10);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds.max(0.0));
    while Instant::now() < deadline && max_runs.is_none_or(|max| stats.executions < max) {
        let input = next_input(&mut rng, &seeds, &pool);
        let text = String::from_utf8_lossy(&input).into_owned();
        let clock = Instant::now();
        let result = run_one(&target, &text);
        let took = clock.elapsed();
        stats.executions += 1;
        if took > stats.slowest.0 {
            stats.slowest = (took, text.len());
        }
        match result {
            Ok(outcome) => {
                if outcome.accepted {
                    stats.accepted += 1;
                } else {
                    stats.rejected += 1;
                }
                if let Some(note) = outcome.strict_json_note {
                    stats.strict_json_records += 1;
                    stats.strict_json_example.get_or_insert_with(|| clip(&note, 600));
                }
                let novel = outcomes.len() < DISTINCT_OUTCOMES_CAP && outcomes.insert(outcome.signature);
                if (outcome.accepted || novel) && text.len() <= POOL_MAX_INPUT {
                    if pool.len() < POOL_CAP {
                        pool.push(text.into_bytes());
                    } else {
                        let slot = rng.below(POOL_CAP);
                        pool[slot] = text.into_bytes();
                    }
                }
            }
            Err(violation) if allowed.iter().any(|name| name == violation.invariant) => {
                *stats.allowed.entry(violation.invariant).or_default() += 1;
            }
            Err(violation) => {
                stats.crashes += 1;
                match findings.iter_mut().find(|f| f.violation.invariant == violation.invariant && f.violation.key == violation.key) {
                    Some(finding) => finding.count += 1,
                    None => {
                        let clock = Instant::now();
                        let minimized = minimize(&target, &text, &violation, minimize_budget.min(Duration::from_secs(5)));
                        minimize_budget = minimize_budget.saturating_sub(clock.elapsed());
                        findings.push(Finding { violation, input: text, minimized, execution: stats.executions, count: 1 });
                    }
                }
            }
        }
    }

    let elapsed = started.elapsed().as_secs_f64();
    let rate = stats.executions as f64 / elapsed.max(1e-9);
    println!(
        "frame fuzz: kept {} inputs, {} distinct outcomes, slowest execution {:.1} ms ({} bytes)",
        pool.len(),
        outcomes.len(),
        stats.slowest.0.as_secs_f64() * 1e3,
        stats.slowest.1
    );
    if let Some(example) = &stats.strict_json_example {
        println!(
            "frame fuzz: note: {} accepted records are JSON that serde_json::Value cannot load (deep nesting, lone surrogates, numbers beyond f64), e.g. {example}",
            stats.strict_json_records
        );
    }
    if !stats.allowed.is_empty() {
        let counts: Vec<String> = stats.allowed.iter().map(|(name, n)| format!("{name} ×{n}")).collect();
        println!("frame fuzz: allowed by FRAME_FUZZ_ALLOW, not counted as crashes: {}", counts.join(", "));
    }
    println!(
        "frame fuzz: {} executions in {elapsed:.1} s ({rate:.0}/s), {} accepted, {} rejected, {} crashes, seed {seed}",
        stats.executions, stats.accepted, stats.rejected, stats.crashes
    );
    if !findings.is_empty() {
        let mut report = format!("{} invariant(s) broken (seed {seed}):\n", findings.len());
        for f in &findings {
            let _ = write!(
                report,
                "\ninvariant `{}` broken by {} input(s); first at execution {} (FRAME_FUZZ_SEED={seed} FRAME_FUZZ_RUNS={} repeats it):\n  {}\n  input:     {}\n  minimized: {}\n",
                f.violation.invariant,
                f.count,
                f.execution,
                f.execution,
                clip(&f.violation.detail, 2000),
                clip(&format!("{:?}", f.input), 4000),
                clip(&format!("{:?}", f.minimized), 4000),
            );
        }
        panic!("{report}");
    }
}

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let value = std::env::var(name).ok()?;
    Some(value.trim().parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a number")))
}

fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

#[derive(Default)]
struct Stats {
    executions: u64,
    accepted: u64,
    rejected: u64,
    crashes: u64,
    slowest: (Duration, usize),
    strict_json_records: u64,
    strict_json_example: Option<String>,
    allowed: std::collections::BTreeMap<&'static str, u64>,
}

struct Finding {
    violation: Violation,
    input: String,
    minimized: String,
    execution: u64,
    count: u64,
}

/// Removes members, items, then ever smaller chunks while the same invariant stays broken.
fn minimize(target: &Target, input: &str, violation: &Violation, budget: Duration) -> String {
    let deadline = Instant::now() + budget;
    let still_breaks = |candidate: &[u8]| {
        let text = String::from_utf8_lossy(candidate);
        matches!(run_one(target, &text), Err(v) if v.invariant == violation.invariant && v.key == violation.key)
    };
    let mut current = input.as_bytes().to_vec();
    // Whole members and array items first, the largest first; then byte chunks.
    'structural: while Instant::now() < deadline {
        let lexed = Lexed::new(&current);
        let mut spans = lexed.members_and_items(&current);
        spans.sort_by_key(|span| std::cmp::Reverse(span.len()));
        for span in spans {
            let mut candidate = current.clone();
            candidate.drain(span);
            if still_breaks(&candidate) {
                current = candidate;
                continue 'structural;
            }
        }
        break;
    }
    let mut chunk = current.len() / 2;
    while chunk > 0 && Instant::now() < deadline {
        let mut at = 0;
        while at < current.len() && Instant::now() < deadline {
            let mut candidate = current.clone();
            candidate.drain(at..(at + chunk).min(current.len()));
            if still_breaks(&candidate) {
                current = candidate;
            } else {
                at += chunk;
            }
        }
        chunk /= 2;
    }
    String::from_utf8_lossy(&current).into_owned()
}
