//! Mutational fuzzing of the frame parser (`schema::encode_frame`) on stable Rust:
//! no nightly, no coverage instrumentation, bounded by time.
//!
//! The seeds are the frames in `fuzz/corpus/frames/` (one per file). Each execution
//! takes a seed, or an input found earlier (accepted, or rejected with an error not
//! seen before), applies 1–8 random mutations (bytes, JSON tokens, interesting
//! values, nesting, splicing) and checks the answer against invariants that hold for
//! any text a client can send:
//!
//! - `no-panic`: `encode_frame` answers, it never panics;
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
//! - `payload-fields`: the payload holds exactly the type's fields, in order, and
//!   strings and objects are the client's own text;
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

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use matyan_actors::envelope::{EnvelopeHeader, ReceiveTime};
use matyan_actors::schema::{encode_frame, EncodedFrame, FrameError, FrameLimits, MessageType, SanitizedFrame};

const RUN_ID: &str = "b5cbc18e2aca42ec96d793e1e5b16ecb";
const RECEIVED_MICROS: i64 = 1_795_713_681_322_055;
const RECEIVED_TEXT: &str = "2026-11-26T17:21:21.322055Z";
/// The gateway's default record limit (`KAFKA_MAX_RECORD_BYTES`).
const LIMITS: FrameLimits = FrameLimits { max_record_bytes: 1_000_000 };
/// Inputs kept for further mutation, at most.
const POOL_CAP: usize = 10_000;
/// Larger inputs are run but not kept: they slow every later execution.
const POOL_MAX_INPUT: usize = 64 << 10;
const MAX_INPUT: usize = 2 << 20;
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

// ---------------------------------------------------------------------------
// Running one input and checking the invariants.
// ---------------------------------------------------------------------------

struct Target {
    header: EnvelopeHeader,
    received: ReceiveTime,
}

impl Target {
    fn new() -> Self {
        let at = chrono::DateTime::from_timestamp_micros(RECEIVED_MICROS).expect("a valid receive time");
        Self { header: EnvelopeHeader::new(RUN_ID), received: ReceiveTime::new(at) }
    }

    /// `encode_frame`, with a panic turned into a `no-panic` violation.
    fn encode(&self, text: &str, limits: FrameLimits) -> Result<Result<EncodedFrame, FrameError>, Violation> {
        guarded(|| encode_frame(text, &self.header, &self.received, limits))
    }
}

#[derive(Debug)]
struct Violation {
    invariant: &'static str,
    /// Tells apart different breaks of one invariant (the place of a panic).
    key: String,
    detail: String,
}

/// `detail` reads "what went wrong: the specifics"; inputs that break an invariant
/// the same way (same text before the colon) are one finding.
fn broken(invariant: &'static str, detail: impl Into<String>) -> Violation {
    let detail = detail.into();
    let key = blur(detail.split(':').next().unwrap_or_default());
    Violation { invariant, key, detail }
}

struct Outcome {
    accepted: bool,
    /// The published types, or the error with its details blurred: new ones are kept.
    signature: String,
    types: Vec<MessageType>,
    /// An accepted record that is valid JSON but that `serde_json::Value` refuses.
    strict_json_note: Option<String>,
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics inside `guarded` are recorded instead of printed; others print as usual.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }));
    });
}

fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Violation> {
    install_panic_hook();
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|payload| {
        let message = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| {
            payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default()
        });
        // "panicked at file:line:col:\nmessage": the place tells panics apart.
        let key = message.lines().next().unwrap_or_default().to_owned();
        Violation { invariant: "no-panic", key, detail: format!("the parser panicked: {message}") }
    })
}

/// Runs one input and checks every invariant; a bug in these checks is reported too.
fn run_one(target: &Target, text: &str) -> Result<Outcome, Violation> {
    install_panic_hook();
    match panic::catch_unwind(AssertUnwindSafe(|| check(target, text))) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
            Err(broken("harness", format!("the fuzz checks themselves panicked: {}", message.unwrap_or_default())))
        }
    }
}

fn check(target: &Target, text: &str) -> Result<Outcome, Violation> {
    let first = target.encode(text, LIMITS)?;
    let second = target.encode(text, LIMITS)?;
    let same = match (&first, &second) {
        (Ok(a), Ok(b)) => same_records(a, b),
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    if !same {
        return Err(broken("deterministic", format!("two runs differ: {first:?} then {second:?}")));
    }
    let sanitized = guarded(|| SanitizedFrame::new(text))?;
    let doc = json::parse(&sanitized.text, 2);
    match first {
        Err(error) => {
            check_refusal(&error, &doc)?;
            Ok(Outcome { accepted: false, signature: blur(&error.to_string()), types: Vec::new(), strict_json_note: None })
        }
        Ok(frame) => check_acceptance(target, text, &frame, doc),
    }
}

fn same_records(a: &EncodedFrame, b: &EncodedFrame) -> bool {
    a.len() == b.len() && a.byte_len() == b.byte_len() && a.iter().zip(b.iter()).all(|(x, y)| x == y)
}

/// The error text with quoted parts and numbers blurred, so that "the same error
/// about another value" is not counted as new behaviour.
fn blur(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(200));
    let mut quote: Option<char> = None;
    let mut last_digit = false;
    for c in message.chars().take(300) {
        match quote {
            Some(q) if c == q => {
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`') => {
                out.push(c);
                quote = Some(c);
            }
            None if c.is_ascii_digit() => {
                if !last_digit {
                    out.push('#');
                }
            }
            None => out.push(c),
        }
        last_digit = c.is_ascii_digit();
    }
    out
}

fn check_refusal(error: &FrameError, doc: &Result<json::Node, String>) -> Result<(), Violation> {
    if error.to_string().trim().is_empty() {
        return Err(broken("error-message", format!("refused without a message: {error:?}")));
    }
    match (doc, error) {
        // serde_json refuses lone surrogate escapes (`"\ud800"`) and numbers beyond
        // f64 (`1e400`) that Python's json reads: such frames are refused, a known
        // and safe-side difference.
        (Ok(_), FrameError::InvalidJson(message))
            if ["surrogate", "hex escape", "number out of range"].iter().any(|known| message.contains(known)) => {}
        (Ok(_), FrameError::InvalidJson(message)) => {
            return Err(broken("json-verdict", format!("refused as invalid JSON, yet it is JSON: {message}")));
        }
        (Err(why), FrameError::NotObjectOrArray) => {
            return Err(broken("json-verdict", format!("refused as neither object nor array, yet it is not JSON: {why}")));
        }
        (Ok(root), _) if !matches!(root.kind, json::Kind::Object(_) | json::Kind::Array(_)) && *error != FrameError::NotObjectOrArray => {
            return Err(broken(
                "json-verdict",
                format!("a JSON scalar frame is refused with another error than NotObjectOrArray: {error:?}"),
            ));
        }
        _ => {}
    }
    let index = match error {
        FrameError::Message { index, .. } | FrameError::Field { index, .. } | FrameError::TooLarge { index, .. } => *index,
        _ => return Ok(()),
    };
    let messages = match doc.as_ref().map(|root| &root.kind) {
        Ok(json::Kind::Object(_)) => 1,
        Ok(json::Kind::Array(items)) => items.len(),
        _ => return Ok(()),
    };
    if index >= messages {
        return Err(broken(
            "error-index",
            format!("the error names a message past the end of the frame: message {index} of {messages}: {error}"),
        ));
    }
    Ok(())
}

/// The wire fields the parser knows (`WireMessage`); the others are ignored.
const KNOWN_FIELDS: [&str; 22] = [
    "type",
    "client_datetime",
    "force_resume",
    "name",
    "value",
    "step",
    "epoch",
    "context",
    "dtype",
    "description",
    "archived",
    "experiment",
    "tag_name",
    "line",
    "message",
    "level",
    "timestamp",
    "logger_info",
    "extra_args",
    "s3_key",
    "artifact_path",
    "content_type",
];

fn check_acceptance(target: &Target, text: &str, frame: &EncodedFrame, doc: Result<json::Node, String>) -> Result<Outcome, Violation> {
    let root = doc.map_err(|why| broken("json-verdict", format!("accepted, yet it is not JSON once NaN/Infinity are rewritten: {why}")))?;
    let messages: Vec<&json::Node> = match &root.kind {
        json::Kind::Object(_) => vec![&root],
        json::Kind::Array(items) => items.iter().collect(),
        other => return Err(broken("json-verdict", format!("accepted a frame that is {}: neither object nor array", other.name()))),
    };
    if frame.len() != messages.len() || frame.is_empty() != messages.is_empty() {
        return Err(broken("frame-structure", format!("not one record per message: {} messages, {} records", messages.len(), frame.len())));
    }
    let total: usize = frame.iter().map(|(_, record)| record.len()).sum();
    if total != frame.byte_len() {
        return Err(broken(
            "frame-structure",
            format!("byte_len() is not the records' total: {total} bytes in all, byte_len() {}", frame.byte_len()),
        ));
    }
    let mut strict_json_note = None;
    let mut types = Vec::with_capacity(frame.len());
    for (index, ((message_type, record), message)) in frame.iter().zip(&messages).enumerate() {
        let json::Kind::Object(fields) = &message.kind else {
            return Err(broken(
                "frame-structure",
                format!(
                    "a message that is {} was published: message {index}, as {}: {}",
                    message.kind.name(),
                    message_type.as_str(),
                    message.raw
                ),
            ));
        };
        for known in KNOWN_FIELDS {
            if fields.iter().filter(|(key, _)| key == known).count() > 1 {
                return Err(broken("frame-structure", format!("accepted a message giving a field twice: message {index}, `{known}`")));
            }
        }
        let given_type = fields.iter().find(|(key, _)| key == "type").map(|(_, value)| &value.kind);
        if !matches!(given_type, Some(json::Kind::Str(name)) if name == message_type.as_str()) {
            return Err(broken(
                "frame-structure",
                format!(
                    "published under another type than the message's: message {index} has {given_type:?}, published as {}",
                    message_type.as_str()
                ),
            ));
        }
        if let Some(note) = check_record(target, index, message_type, record, fields)? {
            strict_json_note.get_or_insert(note);
        }
        types.push(message_type);
    }
    check_record_limit(target, text, frame)?;
    let signature = format!("ok:{}", types.iter().take(4).map(|t| t.as_str()).collect::<Vec<_>>().join(","));
    Ok(Outcome { accepted: true, signature, types, strict_json_note })
}

fn check_record(
    target: &Target,
    index: usize,
    message_type: MessageType,
    record: &[u8],
    message: &[(String, json::Node)],
) -> Result<Option<String>, Violation> {
    let text = std::str::from_utf8(record).map_err(|e| broken("record-json", format!("record is not UTF-8: record {index}: {e}")))?;
    let root = json::parse(text, 2).map_err(|why| broken("record-json", format!("record is not JSON: record {index}, {why}: {text}")))?;
    let json::Kind::Object(envelope) = &root.kind else {
        return Err(broken("envelope", format!("record is not an object: record {index}: {text}")));
    };
    let keys: Vec<&str> = envelope.iter().map(|(key, _)| key.as_str()).collect();
    if keys != ["type", "run_id", "timestamp", "payload"] {
        return Err(broken("envelope", format!("record has other keys: record {index} has {keys:?}: {text}")));
    }
    let string = |node: &json::Node| match &node.kind {
        json::Kind::Str(s) => Some(s.clone()),
        _ => None,
    };
    let published_type = string(&envelope[0].1);
    if !MessageType::ALL.iter().any(|t| published_type.as_deref() == Some(t.as_str()))
        || published_type.as_deref() != Some(message_type.as_str())
    {
        return Err(broken(
            "envelope",
            format!("record says another type: record {index} is listed as {} but says {published_type:?}", message_type.as_str()),
        ));
    }
    if string(&envelope[1].1).as_deref() != Some(RUN_ID) || string(&envelope[2].1).as_deref() != Some(RECEIVED_TEXT) {
        return Err(broken("envelope", format!("record has the wrong run_id or timestamp: record {index}: {text}")));
    }
    let json::Kind::Object(payload) = &envelope[3].1.kind else {
        return Err(broken("envelope", format!("payload is not an object: record {index}: {text}")));
    };
    check_payload(index, message_type, payload, message, text)?;
    check_round_trip(target, index, message_type, record, payload)?;
    let strict = serde_json::from_slice::<serde_json::Value>(record).err();
    Ok(strict.map(|e| format!("{text:?} ({e})")))
}

/// How a payload field comes from the message.
#[derive(Clone, Copy, PartialEq)]
enum Rule {
    /// Always written; the message's own JSON text when the message has the field.
    Copied,
    /// Written exactly when the message has the field and it is not `null`, as given.
    CopiedIfSet,
    /// Always written, a value the gateway formats (numbers, booleans, datetimes).
    Computed,
    /// Written exactly when the message has the field and it is not `null`.
    ComputedIfSet,
}

fn payload_rules(message_type: MessageType) -> &'static [(&'static str, Rule)] {
    use Rule::*;
    match message_type {
        MessageType::CreateRun => &[("client_datetime", Computed), ("force_resume", Computed)],
        MessageType::LogMetric => &[
            ("name", Copied),
            ("value", Computed),
            ("step", Computed),
            ("epoch", Computed),
            ("context", Copied),
            ("dtype", Copied),
            ("client_datetime", Computed),
        ],
        MessageType::LogHparams => &[("value", Copied)],
        MessageType::FinishRun => &[],
        MessageType::SetRunProperty => {
            &[("name", CopiedIfSet), ("description", CopiedIfSet), ("archived", ComputedIfSet), ("experiment", CopiedIfSet)]
        }
        MessageType::AddTag | MessageType::RemoveTag => &[("tag_name", Copied)],
        MessageType::LogCustomObject => {
            &[("name", Copied), ("value", Copied), ("step", Computed), ("epoch", Computed), ("context", Copied), ("dtype", Copied)]
        }
        MessageType::LogTerminalLine => &[("line", Copied), ("step", Computed)],
        MessageType::LogRecord => {
            &[("message", Copied), ("level", Computed), ("timestamp", Computed), ("logger_info", CopiedIfSet), ("extra_args", CopiedIfSet)]
        }
        MessageType::BlobRef => &[("s3_key", Copied), ("artifact_path", Copied), ("content_type", Copied)],
    }
}

fn check_payload(
    index: usize,
    message_type: MessageType,
    payload: &[(String, json::Node)],
    message: &[(String, json::Node)],
    record: &str,
) -> Result<(), Violation> {
    let given = |name: &str| message.iter().find(|(key, _)| key == name).map(|(_, value)| value.raw);
    let rules = payload_rules(message_type);
    let expected: Vec<&str> = rules
        .iter()
        .filter(|(name, rule)| match rule {
            Rule::Copied | Rule::Computed => true,
            Rule::CopiedIfSet | Rule::ComputedIfSet => given(name).is_some_and(|raw| raw != "null"),
        })
        .map(|(name, _)| *name)
        .collect();
    let keys: Vec<&str> = payload.iter().map(|(key, _)| key.as_str()).collect();
    if keys != expected {
        return Err(broken(
            "payload-fields",
            format!(
                "payload fields are not the type's: record {index} ({}) has {keys:?}, not {expected:?}: {record}",
                message_type.as_str()
            ),
        ));
    }
    for ((name, value), (_, rule)) in payload.iter().zip(rules.iter().filter(|(name, _)| expected.contains(name))) {
        if matches!(rule, Rule::Copied | Rule::CopiedIfSet) {
            if let Some(raw) = given(name) {
                if raw != value.raw {
                    return Err(broken(
                        "payload-fields",
                        format!("a copied field is not the message's text: record {index}, `{name}` is published as {} but the message gave {raw}", value.raw),
                    ));
                }
            }
        }
        if name == "client_datetime" {
            let json::Kind::Str(datetime) = &value.kind else {
                return Err(broken("client-datetime", format!("client_datetime is not a string: record {index}: {}", value.raw)));
            };
            python_isoformat(datetime).map_err(|why| {
                broken(
                    "client-datetime",
                    format!("client_datetime is not what Python's isoformat() writes ({why}): record {index}: {datetime:?} in {record}"),
                )
            })?;
        }
    }
    Ok(())
}

/// Whether Python's `datetime.isoformat()` can write `s`: years 0001–9999,
/// microseconds only when non-zero, an optional `±HH:MM[:SS]` offset.
fn python_isoformat(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    let digits = |range: Range<usize>| b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let shape = digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19);
    if !shape {
        return Err("not YYYY-MM-DDTHH:MM:SS");
    }
    if &b[..4] == b"0000" {
        return Err("year 0: Python's datetime starts at year 1");
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        match rest.get(1..7) {
            Some(b"000000") => return Err("zero microseconds are left out by isoformat()"),
            Some(micros) if micros.iter().all(u8::is_ascii_digit) => rest = &rest[7..],
            _ => return Err("microseconds are six digits"),
        }
    }
    let two = |d: &[u8]| d.len() == 2 && d.iter().all(u8::is_ascii_digit);
    match rest {
        [] => Ok(()),
        [b'+' | b'-', h @ .., b':', m1, m2] if two(h) && two(&[*m1, *m2]) => Ok(()),
        [b'+' | b'-', h1, h2, b':', m1, m2, b':', s1, s2] if two(&[*h1, *h2]) && two(&[*m1, *m2]) && two(&[*s1, *s2]) => Ok(()),
        _ => Err("not a ±HH:MM offset"),
    }
}

/// A published payload, sent back as a message of its type, is published unchanged.
/// A non-finite float is published as `null`; it goes back as `NaN`.
fn check_round_trip(
    target: &Target,
    index: usize,
    message_type: MessageType,
    record: &[u8],
    payload: &[(String, json::Node)],
) -> Result<(), Violation> {
    let mut message = format!("{{\"type\":\"{}\"", message_type.as_str());
    for (key, value) in payload {
        let float = matches!((message_type, key.as_str()), (MessageType::LogMetric, "value") | (MessageType::LogRecord, "timestamp"));
        let raw = if float && value.raw == "null" { "NaN" } else { value.raw };
        let _ = write!(message, ",\"{key}\":{raw}");
    }
    message.push('}');
    let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match target.encode(&message, LIMITS)? {
        Ok(again) if again.len() == 1 && again.record(0) == record => Ok(()),
        Ok(again) => Err(broken(
            "round-trip",
            format!(
                "a payload sent back is published differently: record {index}'s payload sent back as {message:?} gives {:?}, not {:?}",
                again.iter().map(|(_, r)| lossy(r)).collect::<Vec<_>>(),
                lossy(record)
            ),
        )),
        Err(error) => Err(broken(
            "round-trip",
            format!(
                "a payload sent back is refused: record {index}'s payload sent back as {message:?} is refused ({error}); the record: {:?}",
                lossy(record)
            ),
        )),
    }
}

fn check_record_limit(target: &Target, text: &str, frame: &EncodedFrame) -> Result<(), Violation> {
    let Some(largest) = frame.iter().map(|(_, record)| record.len()).max() else {
        return Ok(());
    };
    let limit = |max_record_bytes| target.encode(text, FrameLimits { max_record_bytes });
    match limit(largest)? {
        Ok(again) if same_records(&again, frame) => {}
        other => {
            return Err(broken("record-limit", format!("refused with a limit of the largest record's size: limit {largest}: {other:?}")))
        }
    }
    let first = frame.iter().position(|(_, record)| record.len() == largest).expect("the largest record");
    match limit(largest - 1)? {
        Err(FrameError::TooLarge { index, size, limit }) if index == first && size == largest && limit == largest - 1 => Ok(()),
        other => Err(broken(
            "record-limit",
            format!("one byte under the largest record is not refused as too large: limit {}, expected record {first} ({largest} bytes) refused, got {other:?}", largest - 1),
        )),
    }
}

// ---------------------------------------------------------------------------
// A strict JSON reader (RFC 8259) that keeps each value's text. Unlike
// serde_json::Value it takes lone surrogate escapes and numbers beyond f64, as
// the grammar does; containers below `depth` are checked but not kept.
// ---------------------------------------------------------------------------

mod json {
    pub struct Node<'a> {
        /// The value's own text, without surrounding whitespace.
        pub raw: &'a str,
        pub kind: Kind<'a>,
    }

    #[derive(Debug)]
    pub enum Kind<'a> {
        Null,
        Bool,
        Number,
        /// Decoded; a lone surrogate becomes U+FFFD.
        Str(String),
        Array(Vec<Node<'a>>),
        Object(Vec<(String, Node<'a>)>),
        /// A container deeper than the requested depth: valid, not kept.
        Opaque,
    }

    impl std::fmt::Debug for Node<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(self.raw)
        }
    }

    impl Kind<'_> {
        pub fn name(&self) -> &'static str {
            match self {
                Kind::Null => "null",
                Kind::Bool => "a boolean",
                Kind::Number => "a number",
                Kind::Str(_) => "a string",
                Kind::Array(_) => "an array",
                Kind::Object(_) => "an object",
                Kind::Opaque => "a container",
            }
        }
    }

    /// One JSON text: a value between optional whitespace, nothing else.
    pub fn parse(text: &str, depth: usize) -> Result<Node<'_>, String> {
        let mut p = Parser { text, b: text.as_bytes(), i: 0 };
        let node = p.value(depth)?;
        p.ws();
        if p.i != p.b.len() {
            return Err(p.error("trailing characters"));
        }
        Ok(node)
    }

    struct Parser<'a> {
        text: &'a str,
        b: &'a [u8],
        i: usize,
    }

    impl<'a> Parser<'a> {
        fn error(&self, what: &str) -> String {
            format!("{what} at byte {}", self.i)
        }

        fn ws(&mut self) {
            while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.i += 1;
            }
        }

        fn expect(&mut self, c: u8) -> Result<(), String> {
            self.ws();
            if self.b.get(self.i) == Some(&c) {
                self.i += 1;
                Ok(())
            } else {
                Err(self.error(&format!("expected '{}'", c as char)))
            }
        }

        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.b.get(self.i).copied()
        }

        fn value(&mut self, depth: usize) -> Result<Node<'a>, String> {
            self.ws();
            let start = self.i;
            let kind = match self.b.get(self.i) {
                None => return Err(self.error("expected a value, got the end")),
                Some(b'{' | b'[') if depth == 0 => {
                    self.skip_container()?;
                    Kind::Opaque
                }
                Some(b'{') => {
                    self.i += 1;
                    let mut members = Vec::new();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                    } else {
                        loop {
                            let key = self.key()?;
                            let value = self.value(depth - 1)?;
                            members.push((key, value));
                            match self.peek() {
                                Some(b',') => self.i += 1,
                                Some(b'}') => {
                                    self.i += 1;
                                    break;
                                }
                                _ => return Err(self.error("expected ',' or '}'")),
                            }
                        }
                    }
                    Kind::Object(members)
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut items = Vec::new();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        loop {
                            items.push(self.value(depth - 1)?);
                            match self.peek() {
                                Some(b',') => self.i += 1,
                                Some(b']') => {
                                    self.i += 1;
                                    break;
                                }
                                _ => return Err(self.error("expected ',' or ']'")),
                            }
                        }
                    }
                    Kind::Array(items)
                }
                Some(_) => self.scalar()?,
            };
            Ok(Node { raw: &self.text[start..self.i], kind })
        }

        /// `"key"` then `:`.
        fn key(&mut self) -> Result<String, String> {
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.expect(b':')?;
            Ok(key)
        }

        fn scalar(&mut self) -> Result<Kind<'a>, String> {
            let rest = &self.b[self.i..];
            for (word, kind) in [("null", Kind::Null), ("true", Kind::Bool), ("false", Kind::Bool)] {
                if rest.starts_with(word.as_bytes()) {
                    self.i += word.len();
                    return Ok(kind);
                }
            }
            match rest.first() {
                Some(b'"') => self.string().map(Kind::Str),
                Some(b'-' | b'0'..=b'9') => self.number().map(|()| Kind::Number),
                _ => Err(self.error("expected a value")),
            }
        }

        fn digits(&mut self) -> usize {
            let start = self.i;
            while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            self.i - start
        }

        fn number(&mut self) -> Result<(), String> {
            if self.b.get(self.i) == Some(&b'-') {
                self.i += 1;
            }
            match self.b.get(self.i) {
                Some(b'0') => self.i += 1,
                Some(b'1'..=b'9') => {
                    self.digits();
                }
                _ => return Err(self.error("expected a digit")),
            }
            if self.b.get(self.i) == Some(&b'.') {
                self.i += 1;
                if self.digits() == 0 {
                    return Err(self.error("expected a fraction digit"));
                }
            }
            if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
                self.i += 1;
                if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                if self.digits() == 0 {
                    return Err(self.error("expected an exponent digit"));
                }
            }
            Ok(())
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let digits = self.b.get(self.i..self.i + 4).ok_or_else(|| self.error("short \\u escape"))?;
            let text = std::str::from_utf8(digits).map_err(|_| self.error("bad \\u escape"))?;
            if !text.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(self.error("bad \\u escape"));
            }
            self.i += 4;
            Ok(u32::from_str_radix(text, 16).expect("four hex digits"))
        }

        /// At the opening quote; returns the decoded text.
        fn string(&mut self) -> Result<String, String> {
            self.i += 1;
            let mut out = String::new();
            loop {
                let run = self.i;
                while self.b.get(self.i).is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20) {
                    self.i += 1;
                }
                out.push_str(&self.text[run..self.i]);
                match self.b.get(self.i) {
                    None => return Err(self.error("unterminated string")),
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(out);
                    }
                    Some(b'\\') => {
                        self.i += 1;
                        let escape = self.b.get(self.i).copied();
                        self.i += 1;
                        let c = match escape {
                            Some(b'"') => '"',
                            Some(b'\\') => '\\',
                            Some(b'/') => '/',
                            Some(b'b') => '\u{8}',
                            Some(b'f') => '\u{c}',
                            Some(b'n') => '\n',
                            Some(b'r') => '\r',
                            Some(b't') => '\t',
                            Some(b'u') => {
                                let unit = self.hex4()?;
                                if (0xD800..0xDC00).contains(&unit) && self.b[self.i..].starts_with(b"\\u") {
                                    let save = self.i;
                                    self.i += 2;
                                    let low = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&low) {
                                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)).expect("a surrogate pair")
                                    } else {
                                        self.i = save;
                                        '\u{FFFD}'
                                    }
                                } else {
                                    char::from_u32(unit).unwrap_or('\u{FFFD}')
                                }
                            }
                            _ => return Err(self.error("bad escape")),
                        };
                        out.push(c);
                    }
                    Some(_) => return Err(self.error("control character in a string")),
                }
            }
        }

        /// Checks one array or object without keeping it, with no recursion.
        fn skip_container(&mut self) -> Result<(), String> {
            let mut closers: Vec<u8> = Vec::new();
            loop {
                // A value is expected here.
                match self.peek() {
                    Some(b'{') => {
                        self.i += 1;
                        if self.peek() == Some(b'}') {
                            self.i += 1;
                        } else {
                            closers.push(b'}');
                            self.key()?;
                            continue;
                        }
                    }
                    Some(b'[') => {
                        self.i += 1;
                        if self.peek() == Some(b']') {
                            self.i += 1;
                        } else {
                            closers.push(b']');
                            continue;
                        }
                    }
                    Some(_) => {
                        self.scalar()?;
                    }
                    None => return Err(self.error("expected a value, got the end")),
                }
                // After a value: close containers until the next value is due.
                loop {
                    let Some(&closer) = closers.last() else {
                        return Ok(());
                    };
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            if closer == b'}' {
                                self.key()?;
                            }
                            break;
                        }
                        Some(c) if c == closer => {
                            self.i += 1;
                            closers.pop();
                        }
                        _ => return Err(self.error("expected ',' or a closing bracket")),
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------

/// xorshift64*: small, fast, and the same sequence for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds give unrelated sequences.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`; `n` > 0.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes JSON is made of, and a few it must refuse.
const JSON_BYTES: &[u8] = b"{}[]\":,\\-+.0123456789eEntrufalsNIyi \t\n\r\x00\x1f\x7f";

/// Whole values to put in place of a value.
const VALUES: &[&str] = &[
    "NaN",
    "Infinity",
    "-Infinity",
    "-NaN",
    "nan",
    "1e400",
    "-1e400",
    "1e-400",
    "0",
    "-0",
    "-0.0",
    "1",
    "1.0",
    "1.5",
    "-1",
    "1e20",
    "1E+2",
    "5e-324",
    "2e10",
    "20000000001",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "9.223372036854775e18",
    "170141183460469231731687303715884105727",
    "170141183460469231731687303715884105728",
    "-170141183460469231731687303715884105729",
    "1234567890123456789012345678901234567890",
    "253402300799",
    "253402300800",
    "-62135596800",
    "253402300799999",
    "null",
    "true",
    "false",
    "\"\"",
    "[]",
    "{}",
    "[null]",
    "[{}]",
    "{\"\":null}",
    "{\"type\":\"finish_run\"}",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "\"\\ud83d\\ude00\"",
    "\"1\"",
    "\" 7 \"",
    "\"1e-7\"",
    "\"inf\"",
    "\"-Infinity\"",
    "\"NaN\"",
    "\"yes\"",
    "\"off\"",
    "\"2026-11-26T10:00:00Z\"",
    "\"2026-11-26\"",
    "\"0001-01-01T00:00:00+23:59\"",
    "\"9999-12-31T23:59:59-23:59\"",
    "\"2024-02-29T23:59:59.9999999\"",
    "\"1764151200.5\"",
];

/// String contents (already JSON-escaped) to put between a string's quotes,
/// besides the message type names.
const STRINGS: &[&str] = &[
    "",
    "\\u0000",
    "\\ud800",
    "\\udfff",
    "\\ud800\\u0041",
    "\\\"",
    "\\\\",
    "\\\\\\\"NaN",
    "NaN",
    "-Infinity",
    "\\/",
    "é",
    "😀",
    "\\u2028",
    "</script>",
    "\\u005f",
    " 1 ",
    "+1",
    "1_000",
    "0x10",
    "1e400",
    "-0",
    "t",
    "F",
    "On",
    "2026-11-26T10:00:00.1234567+05:30",
    "2026-11-26 10:00",
    "2026-11-26T10:00:00+0000",
    "2026-11-26t10:00:00z",
    "0001-01-01",
    "9999-12-31T23:59:59.999999",
    "2026-11-26T10:00:00.Z",
    "delete_run",
    "Add_Tag",
    "add_tag ",
    "add\\u005ftag",
];

fn pick_string(rng: &mut Rng) -> &'static str {
    if rng.one_in(4) {
        rng.pick(&MessageType::ALL).as_str()
    } else {
        rng.pick::<&str>(STRINGS)
    }
}

/// Keys to put in place of a key: the known fields, and these near misses.
const ODD_KEYS: &[&str] = &["run_id", "", "Type", "type ", "t\\u0079pe"];

fn pick_key(rng: &mut Rng) -> &'static str {
    if rng.below(KNOWN_FIELDS.len() + ODD_KEYS.len()) < KNOWN_FIELDS.len() {
        rng.pick::<&str>(&KNOWN_FIELDS)
    } else {
        rng.pick::<&str>(ODD_KEYS)
    }
}

/// JSON whitespace, and whitespace JSON does not allow.
const WHITESPACE: &[&str] = &[" ", "\t", "\n", "\r", "\x0b", "\x0c", "\u{85}", "\u{a0}", "\u{2028}", "\u{3000}", "\u{feff}"];

/// Byte sequences that are not UTF-8 (they reach the parser as U+FFFD).
const NOT_UTF8: &[&[u8]] = &[b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"];

fn next_input(rng: &mut Rng, seeds: &[Vec<u8>], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut input = pick_input(rng, seeds, pool).to_vec();
    for _ in 0..1 + rng.below(8) {
        mutate(rng, &mut input, seeds, pool);
        input.truncate(MAX_INPUT);
    }
    input
}

fn pick_input<'a>(rng: &mut Rng, seeds: &'a [Vec<u8>], pool: &'a [Vec<u8>]) -> &'a [u8] {
    if pool.is_empty() || rng.one_in(2) {
        &seeds[rng.below(seeds.len())]
    } else {
        &pool[rng.below(pool.len())]
    }
}

/// A random range of `0..len`, short more often than not.
fn random_range(rng: &mut Rng, len: usize) -> Range<usize> {
    let start = rng.below(len + 1);
    let room = len - start;
    let n = if rng.one_in(4) { rng.below(room + 1) } else { rng.below(room.min(16) + 1) };
    start..start + n
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    (0..1 + rng.below(8)).map(|_| if rng.one_in(3) { rng.next_u64() as u8 } else { *rng.pick(JSON_BYTES) }).collect()
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>], pool: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(23) {
        0 if len > 0 => {
            let at = rng.below(len);
            input[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            input[at] = if rng.one_in(3) { rng.next_u64() as u8 } else { *rng.pick(JSON_BYTES) };
        }
        2 => {
            let at = rng.below(len + 1);
            let bytes = random_bytes(rng);
            input.splice(at..at, bytes);
        }
        3 | 4 => {
            let range = random_range(rng, len);
            input.drain(range);
        }
        5 => {
            let range = random_range(rng, len);
            let copy = input[range].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, copy);
        }
        6 => {
            let other = pick_input(rng, seeds, pool).to_vec();
            let piece = random_range(rng, other.len());
            if rng.one_in(2) {
                let at = rng.below(len + 1);
                input.splice(at..at, other[piece].iter().copied());
            } else {
                // Crossover: this input's head, the other's tail.
                let cut = rng.below(len + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[piece.start..]);
            }
        }
        7 | 8 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_value(rng) {
                let value = if rng.one_in(8) { format!("\"{}\"", pick_string(rng)) } else { rng.pick(VALUES).to_string() };
                input.splice(span, value.into_bytes());
            }
        }
        9 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_string(rng) {
                let content = pick_string(rng).as_bytes().to_vec();
                input.splice(span.start + 1..span.end.saturating_sub(1).max(span.start + 1), content);
            }
        }
        10 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_of(rng, Tok::Num) {
                let number = tweak_number(rng, &input[span.clone()]);
                input.splice(span, number);
            }
        }
        11 => {
            let lexed = Lexed::new(input);
            if let Some(k) = lexed.random_key(rng) {
                let (_, start, end) = lexed.toks[k];
                let key = format!("\"{}\"", pick_key(rng));
                input.splice(start..end, key.into_bytes());
            }
        }
        12 => {
            let lexed = Lexed::new(input);
            if let Some(k) = lexed.random_key(rng) {
                let span = lexed.member(k);
                input.drain(span);
            }
        }
        13 => {
            let lexed = Lexed::new(input);
            if let Some(k) = lexed.random_of_index(rng, Tok::Open, b'{', input) {
                let (_, _, end) = lexed.toks[k];
                let empty = lexed.toks.get(k + 1).is_some_and(|t| t.0 == Tok::Close);
                let value = if rng.one_in(3) { format!("\"{}\"", pick_string(rng)) } else { rng.pick(VALUES).to_string() };
                let member = format!("\"{}\":{value}{}", pick_key(rng), if empty { "" } else { "," });
                input.splice(end..end, member.into_bytes());
            }
        }
        14 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_value(rng) {
                let depth = *rng.pick(&[1, 1, 1, 2, 3, 100, 127, 128, 129, 1000]);
                let (open, close) = if rng.one_in(2) { ("[", "]") } else { ("{\"k\":", "}") };
                input.splice(span.end..span.end, close.repeat(depth).into_bytes());
                input.splice(span.start..span.start, open.repeat(depth).into_bytes());
            }
        }
        15 => {
            let at = if rng.one_in(3) { 0 } else { rng.below(len + 1) };
            let space = rng.pick(WHITESPACE).as_bytes().to_vec();
            input.splice(at..at, space);
        }
        16 => {
            let at = rng.below(len + 1);
            let bytes = rng.pick(NOT_UTF8).to_vec();
            input.splice(at..at, bytes);
        }
        17 => {
            let other = pick_input(rng, seeds, pool).to_vec();
            match rng.below(4) {
                0 => {
                    input.insert(0, b'[');
                    input.push(b']');
                }
                1 => {
                    input.insert(0, b'[');
                    input.push(b',');
                    input.extend_from_slice(&other);
                    input.push(b']');
                }
                2 if input.first() == Some(&b'[') && input.last() == Some(&b']') => {
                    input.pop();
                    input.remove(0);
                }
                _ => {
                    input.push(b' ');
                    input.extend_from_slice(&other);
                }
            }
        }
        18 => {
            let lexed = Lexed::new(input);
            if let Some(span) = lexed.random_string(rng) {
                let n = if rng.one_in(16) { 1_000_001 } else { *rng.pick(&[64, 4096, 70_000]) };
                let filler = if rng.one_in(2) { "x".repeat(n) } else { "\\u00e9".repeat(n / 6 + 1) };
                input.splice(span.start + 1..span.end.saturating_sub(1).max(span.start + 1), filler.into_bytes());
            }
        }
        19 if len > 0 => {
            input.truncate(rng.below(len));
        }
        20 => {
            // A run of ASCII digits anywhere, strings included (dates, numeric strings).
            let runs = digit_runs(input);
            if !runs.is_empty() {
                let run = rng.pick(&runs).clone();
                let digits = change_digits(rng, &input[run.clone()]);
                input.splice(run, digits);
            }
        }
        21 => {
            let lexed = Lexed::new(input);
            let bracket = if rng.one_in(2) { b'{' } else { b'[' };
            if let Some(k) = lexed.random_of_index(rng, Tok::Open, bracket, input) {
                let flipped = lexed.flip(rng, k, input);
                input.splice(lexed.value_span(k), flipped);
            }
        }
        _ => {
            // Non-finite literals where a number or word stood (the sanitizer's input).
            let lexed = Lexed::new(input);
            let span = if rng.one_in(2) { lexed.random_of(rng, Tok::Num) } else { lexed.random_of(rng, Tok::Word) };
            if let Some(span) = span {
                let token = *rng.pick(&["NaN", "Infinity", "-Infinity"]);
                input.splice(span, token.bytes());
            }
        }
    }
}

fn digit_runs(b: &[u8]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            runs.push(start..i);
        } else {
            i += 1;
        }
    }
    runs
}

/// libFuzzer's ASCII-integer mutation: zero, all nines, ±1, random digits, ×10, ÷10.
fn change_digits(rng: &mut Rng, digits: &[u8]) -> Vec<u8> {
    let mut d = digits.to_vec();
    match rng.below(7) {
        0 => d.iter_mut().for_each(|c| *c = b'0'),
        1 => d.iter_mut().for_each(|c| *c = b'9'),
        2 | 3 => {
            // Add or take one, in decimal, on the digits as they are.
            let up = rng.one_in(2);
            for c in d.iter_mut().rev() {
                match (up, *c) {
                    (true, b'9') => *c = b'0',
                    (false, b'0') => *c = b'9',
                    (true, _) => {
                        *c += 1;
                        break;
                    }
                    (false, _) => {
                        *c -= 1;
                        break;
                    }
                }
            }
        }
        4 => d.iter_mut().for_each(|c| *c = b'0' + rng.below(10) as u8),
        5 => d.push(b'0'),
        _ => {
            d.pop();
        }
    }
    d
}

fn tweak_number(rng: &mut Rng, number: &[u8]) -> Vec<u8> {
    let mut n = number.to_vec();
    match rng.below(7) {
        0 => {
            if n.first() == Some(&b'-') {
                n.remove(0);
            } else {
                n.insert(0, b'-');
            }
        }
        1 => n.extend_from_slice(rng.pick(&["0", "000", "000000", "9"]).as_bytes()),
        2 => {
            let at = rng.below(n.len() + 1);
            n.insert(at, b'0' + rng.below(10) as u8);
        }
        3 => n.extend_from_slice(rng.pick(&[".5", "e308", "e-7", "E+2", "e400", ".0"]).as_bytes()),
        4 if !n.is_empty() => {
            n.remove(rng.below(n.len()));
        }
        5 => n = rng.pick(VALUES).as_bytes().to_vec(),
        _ => {
            // A digit changed in place: nearby values, other magnitudes.
            if !n.is_empty() {
                let at = rng.below(n.len());
                if n[at].is_ascii_digit() {
                    n[at] = b'0' + rng.below(10) as u8;
                }
            }
        }
    }
    n
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    Str,
    Num,
    Word,
    Open,
    Close,
    Colon,
    Comma,
}

/// A forgiving tokenizer: enough structure to mutate values, keys and members
/// of inputs that may be broken JSON.
struct Lexed {
    toks: Vec<(Tok, usize, usize)>,
    /// For an opening bracket, the index of its closing one (or the last token).
    close_of: Vec<usize>,
}

impl Lexed {
    fn new(b: &[u8]) -> Self {
        let mut toks = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            let tok = match b[i] {
                b'"' => {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    i = (i + 1).min(b.len());
                    Tok::Str
                }
                b'-' | b'0'..=b'9' => {
                    i += 1;
                    while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                        i += 1;
                    }
                    Tok::Num
                }
                c if c.is_ascii_alphabetic() => {
                    while i < b.len() && b[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    Tok::Word
                }
                b'{' | b'[' => {
                    i += 1;
                    Tok::Open
                }
                b'}' | b']' => {
                    i += 1;
                    Tok::Close
                }
                b':' => {
                    i += 1;
                    Tok::Colon
                }
                b',' => {
                    i += 1;
                    Tok::Comma
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            toks.push((tok, start, i));
        }
        let mut close_of: Vec<usize> = (0..toks.len()).collect();
        let mut open = Vec::new();
        for (k, &(tok, _, _)) in toks.iter().enumerate() {
            match tok {
                Tok::Open => open.push(k),
                Tok::Close => {
                    if let Some(o) = open.pop() {
                        close_of[o] = k;
                    }
                }
                _ => {}
            }
        }
        for o in open {
            close_of[o] = toks.len() - 1;
        }
        Self { toks, close_of }
    }

    fn is_key(&self, k: usize) -> bool {
        self.toks[k].0 == Tok::Str && self.toks.get(k + 1).is_some_and(|t| t.0 == Tok::Colon)
    }

    /// The byte span of the value starting at token `k`.
    fn value_span(&self, k: usize) -> Range<usize> {
        self.toks[k].1..self.toks[self.close_of[k]].2
    }

    fn random_value(&self, rng: &mut Rng) -> Option<Range<usize>> {
        let values: Vec<usize> = (0..self.toks.len())
            .filter(|&k| matches!(self.toks[k].0, Tok::Num | Tok::Word | Tok::Open) || (self.toks[k].0 == Tok::Str && !self.is_key(k)))
            .collect();
        (!values.is_empty()).then(|| self.value_span(*rng.pick(&values)))
    }

    fn random_string(&self, rng: &mut Rng) -> Option<Range<usize>> {
        let strings: Vec<usize> = (0..self.toks.len()).filter(|&k| self.toks[k].0 == Tok::Str && !self.is_key(k)).collect();
        (!strings.is_empty()).then(|| {
            let (_, start, end) = self.toks[*rng.pick(&strings)];
            start..end
        })
    }

    fn random_of(&self, rng: &mut Rng, tok: Tok) -> Option<Range<usize>> {
        let found: Vec<usize> = (0..self.toks.len()).filter(|&k| self.toks[k].0 == tok).collect();
        (!found.is_empty()).then(|| {
            let (_, start, end) = self.toks[*rng.pick(&found)];
            start..end
        })
    }

    /// A token of kind `tok` starting with the byte `first`.
    fn random_of_index(&self, rng: &mut Rng, tok: Tok, first: u8, b: &[u8]) -> Option<usize> {
        let found: Vec<usize> = (0..self.toks.len()).filter(|&k| self.toks[k].0 == tok && b[self.toks[k].1] == first).collect();
        (!found.is_empty()).then(|| *rng.pick(&found))
    }

    fn random_key(&self, rng: &mut Rng) -> Option<usize> {
        let keys: Vec<usize> = (0..self.toks.len()).filter(|&k| self.is_key(k)).collect();
        (!keys.is_empty()).then(|| *rng.pick(&keys))
    }

    /// The values directly inside the container opened at token `k`.
    fn children(&self, k: usize) -> Vec<Range<usize>> {
        let mut spans = Vec::new();
        let mut j = k + 1;
        while j < self.close_of[k] {
            let start = if self.is_key(j) { j + 2 } else { j };
            if start < self.close_of[k] && matches!(self.toks[start].0, Tok::Str | Tok::Num | Tok::Word | Tok::Open) {
                spans.push(self.value_span(start));
                j = self.close_of[start] + 1;
            } else {
                j = start + 1;
            }
        }
        spans
    }

    /// Every object member and array item, each with one neighbouring comma.
    fn members_and_items(&self, b: &[u8]) -> Vec<Range<usize>> {
        let mut spans: Vec<Range<usize>> = (0..self.toks.len()).filter(|&k| self.is_key(k)).map(|k| self.member(k)).collect();
        for k in (0..self.toks.len()).filter(|&k| self.toks[k].0 == Tok::Open && b[self.toks[k].1] == b'[') {
            for item in self.children(k) {
                let after = item.end + b[item.end..].iter().take_while(|c| c.is_ascii_whitespace()).count();
                let before = item.start - b[..item.start].iter().rev().take_while(|c| c.is_ascii_whitespace()).count();
                spans.push(if b.get(after) == Some(&b',') {
                    item.start..after + 1
                } else if before > 0 && b[before - 1] == b',' {
                    before - 1..item.end
                } else {
                    item
                });
            }
        }
        spans
    }

    /// An object as an array of its values, or an array as an object with known keys.
    fn flip(&self, rng: &mut Rng, k: usize, b: &[u8]) -> Vec<u8> {
        let children = self.children(k);
        let object = b[self.toks[k].1] == b'{';
        let mut out = vec![if object { b'[' } else { b'{' }];
        for (n, child) in children.into_iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            if !object {
                let key = if n == 0 { "type" } else { pick_key(rng) };
                out.extend_from_slice(format!("\"{key}\":").as_bytes());
            }
            out.extend_from_slice(&b[child]);
        }
        out.push(if object { b']' } else { b'}' });
        out
    }

    /// The byte span of the member whose key is token `k`, with one neighbouring comma.
    fn member(&self, k: usize) -> Range<usize> {
        let start = self.toks[k].1;
        let Some(value) = (k + 2 < self.toks.len()).then_some(k + 2) else {
            return start..self.toks[k].2;
        };
        let last = self.close_of[value];
        match self.toks.get(last + 1) {
            Some(&(Tok::Comma, _, comma_end)) => start..comma_end,
            _ if k > 0 && self.toks[k - 1].0 == Tok::Comma => self.toks[k - 1].1..self.toks[last].2,
            _ => start..self.toks[last].2,
        }
    }
}
