//! The Kafka producer actor: a singleton that owns one rdkafka producer.
//!
//! A [`Publish`] request enqueues every record of a frame without waiting on
//! each, and its answer arrives when the broker has acknowledged all of them
//! (or names the first failure). When librdkafka's queue is full, the batch
//! waits in a FIFO backlog and is retried shortly: backpressure, not an error.
//! Later requests queue behind it, so records keep their order.

mod config;
mod delivery;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use tokio::sync::oneshot;

pub use config::{Compression, KafkaSettings};
use delivery::{BatchDelivery, DeliveryContext};

use crate::backpressure::InflightPermit;
use crate::schema::EncodedFrame;

use crate::probe_cache::{CachedCheck, CheckResult, PROBE_TTL};

/// How often a full producer queue is retried.
const QUEUE_FULL_RETRY: Duration = Duration::from_millis(2);
const MAILBOX_CAPACITY: usize = 4096;
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PublishError {
    #[error("Kafka did not acknowledge the messages: {0}")]
    Kafka(#[from] KafkaError),
    #[error("the producer is shutting down")]
    Stopped,
}

/// Publish one frame's records under one key (the run id). The answer comes
/// at once, once they are enqueued: a receipt to await the broker's acks on,
/// so the acks wake the session directly, not the producer actor first.
#[derive(Message)]
#[rtype(result = "Published")]
pub struct Publish {
    pub key: Arc<str>,
    pub frame: EncodedFrame,
    /// The frame's share of the bytes in flight, held until its last record is answered for.
    pub permit: InflightPermit,
}

/// The pending outcome of a [`Publish`].
pub struct Published(oneshot::Receiver<delivery::BatchOutcome>);

impl Published {
    /// Resolves when every record is acknowledged, or names the first failure.
    pub async fn acked(self) -> Result<(), PublishError> {
        match self.0.await {
            Ok(outcome) => outcome.map_err(PublishError::from),
            Err(_) => Err(PublishError::Stopped),
        }
    }
}

/// Is the broker usable for the ingestion topic? (cached for a second)
#[derive(Message)]
#[rtype(result = "CheckResult")]
pub struct CheckBroker;

/// Wait until every enqueued record is delivered, at most `timeout`; answers
/// how many records were still undelivered.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Flush {
    pub timeout: Duration,
}

type SharedProducer = Arc<ThreadedProducer<DeliveryContext>>;

/// A batch whose records are not all enqueued yet.
struct PendingBatch {
    key: Arc<str>,
    frame: EncodedFrame,
    next: usize,
    delivery: Arc<BatchDelivery>,
}

pub struct KafkaProducer {
    producer: SharedProducer,
    topic: Arc<str>,
    backlog: VecDeque<PendingBatch>,
    retry_scheduled: bool,
    broker_check: CachedCheck,
}

impl KafkaProducer {
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        let producer = settings.client_config().create_with_context(DeliveryContext::default())?;
        Ok(Self {
            producer: Arc::new(producer),
            topic: settings.topic.as_str().into(),
            backlog: VecDeque::new(),
            retry_scheduled: false,
            broker_check: CachedCheck::new(PROBE_TTL),
        })
    }

    /// Enqueues what it can; returns `false` when librdkafka's queue is full.
    fn enqueue(&self, batch: &mut PendingBatch) -> bool {
        while batch.next < batch.frame.len() {
            let record = BaseRecord::with_opaque_to(&self.topic, Arc::clone(&batch.delivery))
                .key(batch.key.as_bytes())
                .payload(batch.frame.record(batch.next));
            match self.producer.send(record) {
                Ok(()) => batch.next += 1,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => return false,
                Err((error, _)) => {
                    // The frame fails: do not enqueue the rest of it.
                    for _ in batch.next..batch.frame.len() {
                        batch.delivery.settle(Err(error.clone()));
                    }
                    batch.next = batch.frame.len();
                }
            }
        }
        batch.delivery.settle(Ok(()));
        true
    }

    fn drain_backlog(&mut self, ctx: &mut Context<Self>) {
        while let Some(mut batch) = self.backlog.pop_front() {
            if !self.enqueue(&mut batch) {
                self.backlog.push_front(batch);
                self.schedule_retry(ctx);
                return;
            }
        }
    }

    fn schedule_retry(&mut self, ctx: &mut Context<Self>) {
        if !self.retry_scheduled {
            self.retry_scheduled = true;
            ctx.run_later(QUEUE_FULL_RETRY, |act, ctx| {
                act.retry_scheduled = false;
                act.drain_backlog(ctx);
            });
        }
    }
}

impl Actor for KafkaProducer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Frames from every connection come through here; past this many
        // queued requests, sessions wait for room (they never drop a frame).
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
    }
}

impl Handler<Publish> for KafkaProducer {
    type Result = MessageResult<Publish>;

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) -> Self::Result {
        let (delivery, done) = BatchDelivery::new(msg.frame.len(), msg.permit);
        let mut batch = PendingBatch { key: msg.key, frame: msg.frame, next: 0, delivery };
        if !self.backlog.is_empty() || !self.enqueue(&mut batch) {
            self.backlog.push_back(batch);
            self.schedule_retry(ctx);
        }
        MessageResult(Published(done))
    }
}

impl Handler<CheckBroker> for KafkaProducer {
    type Result = ResponseActFuture<Self, CheckResult>;

    fn handle(&mut self, _: CheckBroker, _: &mut Context<Self>) -> Self::Result {
        if let Some(result) = self.broker_check.fresh() {
            return Box::pin(fut::ready(result));
        }
        let producer = Arc::clone(&self.producer);
        let topic = Arc::clone(&self.topic);
        let check = tokio::task::spawn_blocking(move || topic_metadata(&producer, &topic));
        Box::pin(
            check
                .into_actor(self)
                .map(|joined, act, _| act.broker_check.store(joined.unwrap_or_else(|e| Err(format!("metadata check failed: {e}"))))),
        )
    }
}

fn topic_metadata(producer: &SharedProducer, topic: &str) -> CheckResult {
    let metadata = producer.client().fetch_metadata(Some(topic), METADATA_TIMEOUT).map_err(|e| match producer.context().last_error() {
        Some(last) => format!("broker unreachable: {e}; last client error: {last}"),
        None => format!("broker unreachable: {e}"),
    })?;
    let found = metadata.topics().iter().find(|t| t.name() == topic).ok_or_else(|| format!("topic '{topic}' not found"))?;
    if let Some(error) = found.error() {
        return Err(format!("topic '{topic}': {}", RDKafkaErrorCode::from(error)));
    }
    if found.partitions().is_empty() {
        return Err(format!("topic '{topic}' has no partitions"));
    }
    producer.context().clear_last_error();
    Ok(())
}

impl Handler<Flush> for KafkaProducer {
    type Result = ResponseActFuture<Self, usize>;

    fn handle(&mut self, msg: Flush, ctx: &mut Context<Self>) -> Self::Result {
        self.drain_backlog(ctx);
        let producer = Arc::clone(&self.producer);
        let flush = tokio::task::spawn_blocking(move || {
            let _ = producer.flush(msg.timeout);
            producer.in_flight_count().max(0) as usize
        });
        Box::pin(flush.into_actor(self).map(|joined, act, _| {
            let backlog: usize = act.backlog.iter().map(|b| b.frame.len() - b.next).sum();
            joined.unwrap_or(0) + backlog
        }))
    }
}
