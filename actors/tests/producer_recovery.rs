//! The producer actor in process, against the local stack's real broker: a
//! fatal librdkafka error (injected with `rd_kafka_test_fatal_error`, as a
//! fenced idempotent producer raises it) leaves no zombie. The actor builds a
//! new producer, republishes every unanswered frame on it in order, and
//! readiness says `recovering` until the new producer answers.
//!
//! Needs `scripts/local-stack.sh up` and its `env` (run `scripts/test.sh`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;
use matyan_actors::backpressure::InflightBudget;
use matyan_actors::kafka_producer::{
    BrokerUnready, CheckBroker, InjectFatalError, KafkaProducer, KafkaSettings, Publish, PublishError, Published,
};
use matyan_actors::protocol::{FrameEncoder, FrameLimits};
use matyan_actors::Health;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

// The gateway's real-stack broker control: this test freezes the stall broker;
// the parts for stopping and restarting the durable one are unused here.
#[allow(dead_code)]
#[path = "../../tests/real_stack/support/broker.rs"]
mod broker;
use broker::STALL_BROKER;

const TOPIC: &str = "data-ingestion";
const PARTITIONS: i32 = 6;
const RECORDS_PER_FRAME: usize = 10;

fn settings(bootstrap: &str) -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: bootstrap.into(),
        topic: TOPIC.into(),
        security_protocol: None,
        sasl_mechanism: None,
        sasl_username: None,
        sasl_password: None,
        message_timeout: Duration::from_secs(39),
        linger: Duration::ZERO,
        compression: Default::default(),
        max_record_bytes: 1_000_000,
        statistics_interval: Duration::ZERO,
        extra_properties: Vec::new(),
    }
}

fn bootstrap(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.into())
}

fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

struct Harness {
    producer: Addr<KafkaProducer>,
    budget: Arc<InflightBudget>,
    registry: prometheus::Registry,
}

impl Harness {
    fn start(bootstrap: &str) -> Self {
        let registry = prometheus::Registry::new();
        let budget = InflightBudget::new(64 << 20, &registry).unwrap();
        let producer = KafkaProducer::start(&settings(bootstrap), &registry).unwrap();
        Self { producer, budget, registry }
    }

    /// Publishes steps `first..first + RECORDS_PER_FRAME` of `run_id` as one frame.
    fn publish(&self, run_id: &str, first: usize) -> Published {
        let text: Vec<String> =
            (first..first + RECORDS_PER_FRAME).map(|step| format!(r#"{{"type":"log_terminal_line","line":"x","step":{step}}}"#)).collect();
        let frame = FrameEncoder::new(run_id, FrameLimits { max_record_bytes: 1 << 20 })
            .encode(&format!("[{}]", text.join(",")), chrono::Utc::now())
            .unwrap();
        let permit = self.budget.reserve(frame.byte_len());
        let (publish, receipt) = Publish::new(run_id.into(), frame, permit);
        self.producer.do_send(publish);
        receipt
    }

    fn rebuilds(&self) -> u64 {
        self.counter("matyan_kafka_producer_rebuilds_total")
    }

    fn counter(&self, name: &str) -> u64 {
        let families = self.registry.gather();
        let family = families.iter().find(|f| f.name() == name).unwrap_or_else(|| panic!("no counter {name}"));
        family.get_metric()[0].get_counter().get_value() as u64
    }

    /// `probes` readiness checks at once: their answers, the metadata requests they made, and how long they took.
    async fn probe_storm(&self, probes: usize) -> (Vec<Health<BrokerUnready>>, u64, Duration) {
        let (checks, start) = (self.counter(READINESS_CHECKS), Instant::now());
        let pending: Vec<_> = (0..probes).map(|_| actix::spawn(self.producer.send(CheckBroker))).collect();
        let mut answers = Vec::new();
        for probe in pending {
            answers.push(probe.await.unwrap().unwrap());
        }
        (answers, self.counter(READINESS_CHECKS) - checks, start.elapsed())
    }
}

const READINESS_CHECKS: &str = "matyan_kafka_readiness_checks_total";

/// A frame's answer; one still missing after a minute is a zombie producer.
async fn answer(receipt: Published) -> Result<(), PublishError> {
    tokio::time::timeout(Duration::from_secs(60), receipt.acked()).await.expect("a frame left unanswered for a minute")
}

/// The steps of each run found in the topic, in partition order.
fn steps_in_kafka(bootstrap: &str, run_ids: &[String], expected: usize) -> BTreeMap<String, Vec<i64>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "matyan-actor-tests")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        assignment.add_partition_offset(TOPIC, partition, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut steps: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let (deadline, mut found, mut quiet_since) = (Instant::now() + Duration::from_secs(60), 0, Instant::now());
    while Instant::now() < deadline && !(found >= expected && quiet_since.elapsed() > Duration::from_secs(2)) {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = message.unwrap();
        quiet_since = Instant::now();
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        if run_ids.contains(&key) {
            let value: serde_json::Value = serde_json::from_slice(message.payload().unwrap()).unwrap();
            steps.entry(key).or_default().push(value["payload"]["step"].as_i64().unwrap());
            found += 1;
        }
    }
    steps
}

/// Every step of every run is in Kafka once at least, first seen in order; answers the duplicates.
fn assert_all_landed(steps: &BTreeMap<String, Vec<i64>>, run_ids: &[String], per_run: usize) -> usize {
    let mut duplicates = 0;
    for run_id in run_ids {
        let seen = steps.get(run_id).map(Vec::as_slice).unwrap_or_default();
        let mut next = 0;
        for &step in seen {
            if step == next {
                next += 1;
            } else {
                assert!(step < next, "run {run_id}: step {step} before step {next}");
                duplicates += 1;
            }
        }
        assert_eq!(next as usize, per_run, "run {run_id}: every step landed");
    }
    duplicates
}

#[actix::test]
async fn a_fatal_error_under_load_is_healed_and_every_frame_republished() {
    let bootstrap = bootstrap("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092");
    let harness = Harness::start(&bootstrap);
    const FRAMES_PER_RUN: usize = 300;
    let run_ids: Vec<String> = (0..4).map(|_| run_id()).collect();
    let mut receipts = Vec::new();
    for frame in 0..FRAMES_PER_RUN {
        if frame == FRAMES_PER_RUN / 2 {
            harness.producer.send(InjectFatalError).await.unwrap();
        }
        for run_id in &run_ids {
            receipts.push(harness.publish(run_id, frame * RECORDS_PER_FRAME));
        }
    }
    for receipt in receipts {
        assert_eq!(answer(receipt).await, Ok(()), "every frame answered ok, on the new producer if need be");
    }
    assert_eq!(harness.rebuilds(), 1, "one fatal error, one new producer");
    let mut ready = harness.producer.send(CheckBroker).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready.is_ready() && Instant::now() < deadline {
        actix::clock::sleep(Duration::from_millis(200)).await;
        ready = harness.producer.send(CheckBroker).await.unwrap();
    }
    assert!(ready.is_ready(), "ready again: {ready:?}");

    let per_run = FRAMES_PER_RUN * RECORDS_PER_FRAME;
    let steps = steps_in_kafka(&bootstrap, &run_ids, run_ids.len() * per_run);
    let duplicates = assert_all_landed(&steps, &run_ids, per_run);
    eprintln!("fatal error under load: {} records acked, all in Kafka, {duplicates} duplicates", run_ids.len() * per_run);
}

#[actix::test]
async fn readiness_says_recovering_until_the_new_producer_answers() {
    let bootstrap = STALL_BROKER.bootstrap();
    let harness = Harness::start(&bootstrap);
    assert!(harness.producer.send(CheckBroker).await.unwrap().is_ready());

    // Frozen broker: the new producer cannot answer yet, so the state is visible.
    let frozen = STALL_BROKER.freeze();
    let run_id = run_id();
    let mut receipts = Vec::new();
    for frame in 0..5 {
        receipts.push(harness.publish(&run_id, frame * RECORDS_PER_FRAME));
    }
    harness.producer.send(InjectFatalError).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ready = harness.producer.send(CheckBroker).await.unwrap();
    while !matches!(ready, Health::Unready(BrokerUnready::Recovering { .. })) && Instant::now() < deadline {
        actix::clock::sleep(Duration::from_millis(100)).await;
        ready = harness.producer.send(CheckBroker).await.unwrap();
    }
    drop(frozen);
    let Health::Unready(reason @ BrokerUnready::Recovering { cause, .. }) = &ready else {
        panic!("readiness never said recovering: {ready:?}")
    };
    assert!(cause.contains("fault drill"), "names the cause: {cause}");
    // Followed by `; <reason>` when the new producer's check failed too.
    assert!(reason.to_string().starts_with(&format!("recovering: {cause}")), "{reason}");

    for receipt in receipts {
        assert_eq!(answer(receipt).await, Ok(()), "republished on the new producer once the broker is back");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !harness.producer.send(CheckBroker).await.unwrap().is_ready() {
        assert!(Instant::now() < deadline, "ready again once the new producer has answered");
        actix::clock::sleep(Duration::from_millis(200)).await;
    }
    let steps = steps_in_kafka(&bootstrap, std::slice::from_ref(&run_id), 5 * RECORDS_PER_FRAME);
    assert_all_landed(&steps, std::slice::from_ref(&run_id), 5 * RECORDS_PER_FRAME);
}

/// A broker that accepts connections and never answers, as a frozen one:
/// each metadata request takes its whole 2 s timeout.
fn silent_broker() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    (listener, address)
}

#[actix::test]
async fn concurrent_probes_share_one_metadata_request_even_while_recovering() {
    let (_listener, address) = silent_broker();
    let harness = Harness::start(&address);
    let (answers, checks, took) = harness.probe_storm(50).await;
    eprintln!("50 probes, broker silent: {checks} metadata requests, {took:?}");
    assert!(answers.iter().all(|a| matches!(a, Health::Unready(BrokerUnready::Unusable(_)))), "{answers:?}");
    assert_eq!(checks, 1, "one request answers every probe that came while it ran");

    // Once the failed producer is replaced, the new one's own checks are shared too.
    harness.producer.send(InjectFatalError).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(harness.producer.send(CheckBroker).await.unwrap(), Health::Unready(BrokerUnready::Recovering { check: Some(_), .. })) {
        assert!(Instant::now() < deadline, "the new producer never ran its own check");
        actix::clock::sleep(Duration::from_millis(100)).await;
    }
    actix::clock::sleep(Duration::from_millis(1100)).await; // the last answer expires
    let (answers, checks, took) = harness.probe_storm(50).await;
    eprintln!("50 probes while recovering, broker silent: {checks} metadata requests, {took:?}");
    assert!(answers.iter().all(|a| matches!(a, Health::Unready(BrokerUnready::Recovering { check: Some(_), .. }))), "{answers:?}");
    assert_eq!(checks, 1, "one request answers every probe that came while it ran");
    assert!(took < Duration::from_secs(4), "the probes waited for one request, not one after another: {took:?}");
}

#[actix::test]
async fn readiness_is_not_ok_while_the_producer_has_failed_for_good() {
    let harness = Harness::start(&bootstrap("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"));
    assert!(harness.producer.send(CheckBroker).await.unwrap().is_ready());
    // The second drill comes within a second of the first rebuild, which delays the next one.
    for drill in 1..=2 {
        harness.producer.send(InjectFatalError).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = harness.producer.send(CheckBroker).await.unwrap();
            if ready.is_ready() {
                assert_eq!(harness.rebuilds(), drill, "ready only once producer {drill} replaced the one that failed");
                break;
            }
            assert!(
                matches!(&ready, Health::Unready(BrokerUnready::Recovering { cause, .. }) if cause.contains("fault drill")),
                "{ready:?}"
            );
            assert!(Instant::now() < deadline, "not ready again 20 s after drill {drill}: {ready:?}");
            actix::clock::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[actix::test]
async fn a_fatal_error_on_an_idle_producer_replaces_it_without_a_frame_or_a_probe() {
    let harness = Harness::start(&bootstrap("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"));
    harness.producer.send(InjectFatalError).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while harness.rebuilds() == 0 {
        assert!(Instant::now() < deadline, "librdkafka's error report alone did not start the rebuild");
        actix::clock::sleep(Duration::from_millis(50)).await;
    }
}
