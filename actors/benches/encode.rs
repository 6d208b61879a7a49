//! The frame encoder's hot path on its own: a fixed mix of realistic frames
//! (metric batches dominate, as in training; hparams, terminal lines, log
//! records and blob references around them), encoded many times.
//!
//! ```text
//! cargo bench -p matyan-actors --bench encode            # ENCODE_BENCH_ROUNDS=2000 by default
//! ```

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Utc};
use matyan_actors::protocol::{FrameEncoder, FrameLimits};

const RUN_ID: &str = "b5cbc18e2aca42ec96d793e1e5b16ecb";

fn metric(step: usize) -> String {
    format!(
        r#"{{"type": "log_metric", "run_id": "{RUN_ID}", "name": "train/loss", "value": {}, "step": {step}, "epoch": {}, "context": {{"subset": "train", "head": "main"}}, "dtype": "float", "client_datetime": "2026-11-26T10:00:00.123456+00:00"}}"#,
        1.0 / (step as f64 + 1.5),
        step / 1000
    )
}

fn array(messages: impl Iterator<Item = String>) -> String {
    format!("[{}]", messages.collect::<Vec<_>>().join(", "))
}

/// One round of frames, in the proportions a training run sends them.
fn frame_mix() -> Vec<String> {
    let mut frames: Vec<String> = (0..8).map(|batch| array((0..100).map(|i| metric(batch * 100 + i)))).collect();
    frames.push(metric(7));
    frames.push(format!(
        r#"{{"type": "log_hparams", "run_id": "{RUN_ID}", "value": {{"hparams": {{"lr": 0.001, "batch_size": 64, "optimizer": {{"name": "adamw", "betas": [0.9, 0.999], "weight_decay": 0.01}}, "layers": [512, 512, 256], "dropout": NaN}}}}}}"#
    ));
    frames.push(array((0..20).map(|step| {
        format!(r#"{{"type": "log_terminal_line", "run_id": "{RUN_ID}", "line": "epoch {step}: loss=0.4321 acc=0.8765 \u001b[32mok\u001b[0m", "step": {step}}}"#)
    })));
    frames.push(array((0..10).map(|i| {
        format!(
            r#"{{"type": "log_record", "run_id": "{RUN_ID}", "message": "checkpoint {i} saved to /data/ckpt/{i}.pt", "level": 20, "timestamp": 1764151200.123456, "logger_info": ["/home/u/train.py", 42], "extra_args": {{"epoch": {i}}}}}"#
        )
    })));
    frames.push(format!(
        r#"{{"type": "blob_ref", "run_id": "{RUN_ID}", "s3_key": "{RUN_ID}/seq/sample/0.png", "artifact_path": "samples/0.png", "content_type": "image/png"}}"#
    ));
    frames
}

fn main() {
    let rounds: usize = std::env::var("ENCODE_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let frames = frame_mix();
    let limits = FrameLimits { max_record_bytes: 1_000_000 };
    let encoder = FrameEncoder::new(RUN_ID, limits);
    let received_at: DateTime<Utc> = DateTime::from_timestamp_micros(1_795_713_681_322_055).expect("a valid time");
    let encode = |text: &str| encoder.encode(text, received_at).expect("a valid frame");

    let messages_per_round: usize = frames.iter().map(|f| encode(f).len()).sum();
    let bytes_per_round: usize = frames.iter().map(String::len).sum();
    // Warm-up: caches, branch predictors, the allocator's free lists.
    for frame in &frames {
        black_box(encode(frame));
    }
    let started = Instant::now();
    for _ in 0..rounds {
        for frame in &frames {
            black_box(encode(black_box(frame)));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let frames_done = (rounds * frames.len()) as f64;
    println!(
        "encode: {rounds} rounds of {} frames ({messages_per_round} messages, {bytes_per_round} bytes): {:.0} ns/frame, {:.0} ns/message, {:.1} MB/s",
        frames.len(),
        elapsed * 1e9 / frames_done,
        elapsed * 1e9 / (rounds * messages_per_round) as f64,
        (rounds * bytes_per_round) as f64 / elapsed / 1e6
    );
}
