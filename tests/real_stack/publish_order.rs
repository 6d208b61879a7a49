//! The publish path from session to producer, against the real broker:
//! - frame order into Kafka when the producer's mailbox is full: many
//!   connections pipeline frames into a gateway (in process) whose producer
//!   actor has a tiny mailbox, and every run's records must be in Kafka in
//!   the order its frames were sent;
//! - a frame answered `error` at its deadline while it waited for room in
//!   librdkafka's queue is not published afterwards; one partly queued by
//!   then says so, and is published whole.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use matyan_actors::kafka_producer::KafkaProducer;
use matyan_actors::presign::S3Store;
use matyan_frontier::config::{BlobSettings, Settings};
use matyan_frontier::{Backends, Gateway, ProducerPort};
use tokio::sync::oneshot;

use crate::support::*;

const CONNECTIONS: usize = 16;
const FRAMES_PER_RUN: usize = 400;
const RECORDS_PER_FRAME: usize = 2;
/// Frames a client sends ahead of their answers.
const PIPELINE: usize = 48;
/// Requests the producer actor queues before a sender has to wait for room.
const TINY_MAILBOX: usize = 1;

/// A gateway on its own thread and actix system, its producer's mailbox `mailbox` requests deep.
struct InProcessGateway {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl InProcessGateway {
    fn start(mailbox: usize) -> Self {
        let vars = [
            ("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap()),
            ("KAFKA_DATA_INGESTION_TOPIC", topic()),
            ("S3_ENDPOINT", s3_endpoint()),
            ("S3_BUCKET", bucket()),
            ("WS_MAX_FRAMES_IN_FLIGHT", PIPELINE.to_string()),
            ("SHUTDOWN_FLUSH_TIMEOUT", "5".into()),
        ];
        let settings = Settings::from_vars(vars.into_iter().map(|(k, v)| (k.to_string(), v))).expect("valid settings");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let (started, is_started) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix::System::new().block_on(async move {
                let registry = prometheus::Registry::new();
                let producer = KafkaProducer::start_with_mailbox(&settings.kafka, &registry, mailbox).expect("producer");
                let BlobSettings::S3(s3) = &settings.blob else { unreachable!("the stack's blob store is S3") };
                let backends = Backends { producer: ProducerPort::of(&producer), blob_store: Arc::new(S3Store::new(s3.clone()).unwrap()) };
                let gateway = Gateway::start_with(settings, listener, registry, backends).await.expect("gateway starts");
                started.send(()).unwrap();
                let _ = stopped.await;
                gateway.shutdown().await;
            })
        });
        is_started.recv().expect("gateway started");
        Self { address, stop: Some(stop), thread: Some(thread) }
    }

    fn ws(&self, run_id: &str) -> WsClient {
        upgrade(&format!("ws://{}/api/v1/ws/runs/{run_id}", self.address), None).expect("WebSocket upgrade")
    }
}

impl Drop for InProcessGateway {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Frame `index` of a run: steps `index * RECORDS_PER_FRAME ..`, one record each.
fn frame(index: usize) -> String {
    let first = index * RECORDS_PER_FRAME;
    let records: Vec<String> =
        (first..first + RECORDS_PER_FRAME).map(|step| format!(r#"{{"type":"log_terminal_line","line":"x","step":{step}}}"#)).collect();
    format!("[{}]", records.join(","))
}

/// Sends every frame of `run_id`, `PIPELINE` ahead of their answers; every answer must be ok.
fn stream_run(gateway: &InProcessGateway, run_id: &str) {
    let mut ws = gateway.ws(run_id);
    let mut answered = 0;
    for index in 0..FRAMES_PER_RUN {
        if index >= PIPELINE {
            assert_eq!(ws.answer(), ok_answer(), "run {run_id}");
            answered += 1;
        }
        ws.send(&frame(index));
    }
    while answered < FRAMES_PER_RUN {
        assert_eq!(ws.answer(), ok_answer(), "run {run_id}");
        answered += 1;
    }
}

/// How many consecutive record pairs of one run are out of step order.
fn inversions(steps: &[i64]) -> usize {
    steps.windows(2).filter(|pair| pair[1] < pair[0]).count()
}

#[test]
fn a_full_producer_mailbox_keeps_every_run_in_frame_order() {
    let gateway = InProcessGateway::start(TINY_MAILBOX);
    let run_ids: Vec<String> = (0..CONNECTIONS).map(|_| unique_run_id()).collect();
    std::thread::scope(|scope| {
        for run_id in &run_ids {
            let gateway = &gateway;
            scope.spawn(move || stream_run(gateway, run_id));
        }
    });
    let per_run = FRAMES_PER_RUN * RECORDS_PER_FRAME;
    let ids: Vec<&str> = run_ids.iter().map(String::as_str).collect();
    let records = records_of_runs(&ids, CONNECTIONS * per_run, Duration::from_secs(60));
    let mut out_of_order_runs = 0;
    let mut total_inversions = 0;
    for run_id in &run_ids {
        // A run's records share a key, so one partition: offset order is Kafka's order.
        let steps: Vec<i64> =
            records.iter().filter(|r| r.key == run_id.as_bytes()).map(|r| r.value["payload"]["step"].as_i64().unwrap()).collect();
        assert_eq!(steps.len(), per_run, "run {run_id}: every record once");
        let found = inversions(&steps);
        out_of_order_runs += usize::from(found > 0);
        total_inversions += found;
    }
    eprintln!(
        "publish order, mailbox of {TINY_MAILBOX}: {out_of_order_runs} of {CONNECTIONS} runs out of order ({total_inversions} inversions in {} records)",
        CONNECTIONS * per_run
    );
    assert_eq!(out_of_order_runs, 0, "{total_inversions} records before an earlier one of their run");
}

/// Frames of three records against a librdkafka queue of four messages and a
/// frozen broker: the first frames are queued (a second one partly, as the
/// first times out), the rest wait in the producer's backlog until every
/// frame is answered `error` at the 3 s deadline. Then the broker thaws and
/// the queue drains.
#[test]
fn a_frame_answered_error_while_it_waited_for_the_queue_is_never_published() {
    const FRAMES: usize = 12;
    const RECORDS: usize = 3;
    let _broker = STALL_BROKER.take_turn();
    let bootstrap = STALL_BROKER.bootstrap();
    let frontier = Frontier::start(&[
        ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.as_str()),
        ("KAFKA_PROPERTY_QUEUE_BUFFERING_MAX_MESSAGES", "4"),
        // An idempotent producer whose requests time out fails every later record on
        // this broker (BROKER-NOTES.md): off, the frames that waited do land after the thaw.
        ("KAFKA_PROPERTY_ENABLE_IDEMPOTENCE", "false"),
        ("KAFKA_ALLOW_UNSAFE_OVERRIDES", "true"),
        ("WS_ANSWER_DEADLINE_MS", "3000"),
    ]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(10));
    let run_id = unique_run_id();
    let mut ws = frontier.ws(&run_id);
    let frame = |index: usize| {
        let records: Vec<String> =
            (0..RECORDS).map(|i| format!(r#"{{"type":"log_terminal_line","line":"x","step":{}}}"#, index * RECORDS + i)).collect();
        format!("[{}]", records.join(","))
    };
    let frozen = STALL_BROKER.freeze();
    for index in 0..FRAMES {
        ws.send(&frame(index));
    }
    let answers: Vec<String> = (0..FRAMES)
        .map(|_| {
            let answer = ws.answer();
            assert_eq!(answer["status"], "error", "nothing is acknowledged by a frozen broker: {answer}");
            answer["error"].as_str().unwrap().to_owned()
        })
        .collect();
    drop(frozen);

    // Frames whose answer says they may be in Kafka all the same, and how many records those are.
    let may_land: Vec<bool> =
        answers.iter().map(|error| error.contains("may still be published") || error.contains("may be in Kafka all the same")).collect();
    let expected = may_land.iter().filter(|&&may| may).count() * RECORDS;
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", &bootstrap);
    // Fewer than `expected` may land (a timed-out record only may have been persisted): wait 15 s at most.
    let records = records_with(config, &[&run_id], expected, Duration::from_secs(15));
    let frames_in_kafka: BTreeSet<usize> =
        records.iter().map(|r| r.value["payload"]["step"].as_u64().unwrap() as usize / RECORDS).collect();
    let published_after_error: Vec<usize> = frames_in_kafka.iter().copied().filter(|&index| !may_land[index]).collect();
    eprintln!(
        "answered error while queued: {} of {FRAMES} frames said they may be in Kafka, {} in Kafka; \
         {} answered as not published were published anyway",
        may_land.iter().filter(|&&may| may).count(),
        frames_in_kafka.len(),
        published_after_error.len()
    );
    assert!(
        published_after_error.is_empty(),
        "frames {published_after_error:?} were answered {:?} and published anyway",
        answers[published_after_error[0]]
    );
    let withdrawn = answers.iter().filter(|error| error.contains("none of its records left the gateway")).count();
    assert!(withdrawn > 0, "some frames waited in the backlog past their deadline: {answers:#?}");
    // No check that a frame in Kafka is whole: without idempotence librdkafka
    // may time out some records of a frame and deliver the others after the
    // thaw (CI saw 2 of 3). Such a frame was answered "may be in Kafka", which
    // the first assertion holds it to.
}
