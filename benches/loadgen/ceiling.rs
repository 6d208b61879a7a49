//! The ceiling: a plain rdkafka producer with the frontier's own producer
//! settings, sending the same records in the same stop-and-wait batches from
//! the same number of "runs", with no WebSocket and no JSON work.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use matyan_actors::kafka_producer::{Compression, KafkaSettings};
use matyan_actors::protocol::{FrameEncoder, FrameLimits};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use serde_json::json;

use crate::load::{client_frame, run_prefix};
use crate::LoadShape;

/// Wakes the run's thread when the last record of its batch is acknowledged.
#[derive(Default)]
struct Batch {
    remaining: AtomicUsize,
    failed: AtomicUsize,
    done: Mutex<bool>,
    wake: Condvar,
}

struct Context;
impl ClientContext for Context {}
impl ProducerContext for Context {
    type DeliveryOpaque = Arc<Batch>;
    fn delivery(&self, result: &DeliveryResult<'_>, batch: Arc<Batch>) {
        if result.is_err() {
            batch.failed.fetch_add(1, Ordering::Relaxed);
        }
        if batch.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            *batch.done.lock().unwrap() = true;
            batch.wake.notify_one();
        }
    }
}

pub fn run(bootstrap: &str, topic: &str, shape: &LoadShape) -> serde_json::Value {
    let compression = std::env::var("KAFKA_COMPRESSION_TYPE").ok().and_then(|v| Compression::parse(&v)).unwrap_or_default();
    let settings = KafkaSettings {
        bootstrap_servers: bootstrap.into(),
        topic: topic.into(),
        security_protocol: None,
        sasl_mechanism: None,
        sasl_username: None,
        sasl_password: None,
        message_timeout: Duration::from_secs(10),
        linger: Duration::from_millis(std::env::var("KAFKA_LINGER_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0)),
        // The same codec as the gateway under test.
        compression,
        extra_properties: Vec::new(),
    };
    let producer: Arc<ThreadedProducer<Context>> = Arc::new(settings.client_config().create_with_context(Context).expect("producer"));
    let prefix = run_prefix();
    let start = Instant::now();
    let deadline = start + shape.duration();
    let handles: Vec<_> = (0..shape.connections)
        .map(|i| {
            let (producer, topic, batch_size) = (Arc::clone(&producer), topic.to_string(), shape.batch);
            let run_id = format!("{prefix}{i:08x}");
            std::thread::spawn(move || {
                // The same records the frontier would publish, built once.
                let frame = FrameEncoder::new(&run_id, FrameLimits { max_record_bytes: 1_000_000 })
                    .encode(&client_frame(&run_id, batch_size, 0), chrono::Utc::now())
                    .expect("valid frame");
                let records: Vec<&[u8]> = frame.iter().map(|(_, record)| record).collect();
                let (mut acked, mut errors, mut latencies) = (0u64, 0u64, Vec::new());
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let batch = Arc::new(Batch { remaining: AtomicUsize::new(records.len()), ..Default::default() });
                    for record in &records {
                        let mut next = BaseRecord::with_opaque_to(&topic, Arc::clone(&batch)).key(run_id.as_bytes()).payload(*record);
                        loop {
                            match producer.send(next) {
                                Ok(()) => break,
                                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                                    next = back;
                                    std::thread::sleep(Duration::from_millis(1));
                                }
                                Err((error, _)) => panic!("produce: {error}"),
                            }
                        }
                    }
                    let mut done = batch.done.lock().unwrap();
                    while !*done {
                        done = batch.wake.wait(done).unwrap();
                    }
                    latencies.push(sent.elapsed().as_micros() as u32);
                    if batch.failed.load(Ordering::Relaxed) == 0 {
                        acked += records.len() as u64;
                    } else {
                        errors += 1;
                    }
                }
                (acked, errors, latencies)
            })
        })
        .collect();
    let mut acked = 0;
    let mut errors = 0;
    let mut latencies = Vec::new();
    for handle in handles {
        let (a, e, l) = handle.join().expect("run thread");
        acked += a;
        errors += e;
        latencies.extend(l);
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let p =
        |q: f64| if latencies.is_empty() { 0.0 } else { latencies[((latencies.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0 };
    json!({
        "mode": "ceiling", "label": format!("raw rdkafka {}", compression.as_str()), "connections": shape.connections, "batch": shape.batch, "seconds": elapsed,
        "acked_messages": acked, "errors": errors, "messages_per_second": acked as f64 / elapsed,
        "latency_ms": {"p50": p(0.5), "p99": p(0.99), "p999": p(0.999)},
    })
}
