//! The Kafka producer actor: a singleton that owns one rdkafka producer.
//!
//! A [`Publish`] request enqueues every record of a frame without waiting on
//! each, and its answer arrives when the broker has acknowledged all of them
//! (or names the first failure). When librdkafka's queue is full, the batch
//! waits in a FIFO backlog and is retried shortly: backpressure, not an error.
//! Later requests queue behind it, so records keep their order. A batch whose
//! answer deadline passed while it waited there is withdrawn, never enqueued
//! after its session answered `error` (see [`Published::acked_within`]).
//!
//! A producer that fails for good (librdkafka's fatal error: fenced, sequence
//! lost) is replaced by a new one with the same settings, and every batch not
//! yet answered is republished on it, in publish order; readiness says
//! `recovering` until the new producer has proved itself.

mod config;
mod delivery;
mod receipt;

use std::collections::VecDeque;
use std::ffi::CString;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use actix::prelude::*;
use prometheus::{IntCounter, Registry};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, PurgeConfig, ThreadedProducer};

pub use config::{Compression, KafkaSettings};
use delivery::{BatchDelivery, DeliveryContext};
pub use receipt::{Publish, PublishError, Published, Unacknowledged};

use crate::health::{Health, PROBE_TTL};
use crate::metrics::ProducerMetrics;
use crate::ttl_cache::TtlCache;

/// How often a full producer queue is retried.
const QUEUE_FULL_RETRY: Duration = Duration::from_millis(2);
/// Requests queued before a `send` waits for room (readiness and flush use
/// `send`; sessions publish with `do_send`, which keeps frame order).
const MAILBOX_CAPACITY: usize = 4096;
/// The answered-batch list is swept through once it holds this many entries (or twice as many as after the last sweep).
const MIN_SWEEP: usize = 4096;
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a failed producer gets to report its purged records before it is dropped.
const FAILED_PRODUCER_DRAIN: Duration = Duration::from_secs(2);
/// Least time between two rebuilds, and the wait before trying again when a
/// replacement producer cannot even be created.
const REBUILD_RETRY: Duration = Duration::from_secs(1);

/// Why the broker is not usable for the ingestion topic; the text is what
/// readiness reports (`recovering: …` or `error: …`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerUnready {
    /// The producer failed for good (`cause`) and is being replaced.
    #[error("recovering: {cause}{}", check.as_ref().map(|c| format!("; {c}")).unwrap_or_default())]
    Recovering { cause: String, check: Option<TopicUnusable> },
    #[error("error: {0}")]
    Unusable(TopicUnusable),
}

/// What the topic metadata check found wrong.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TopicUnusable {
    #[error("broker unreachable: {error}{}", last_client_error.as_ref().map(|e| format!("; last client error: {e}")).unwrap_or_default())]
    BrokerUnreachable { error: KafkaError, last_client_error: Option<String> },
    #[error("topic '{0}' not found")]
    NotFound(Arc<str>),
    #[error("topic '{topic}': {code}")]
    Failed { topic: Arc<str>, code: RDKafkaErrorCode },
    #[error("topic '{0}' has no partitions")]
    NoPartitions(Arc<str>),
    #[error("metadata check failed: {0}")]
    CheckInterrupted(Arc<tokio::task::JoinError>),
}

pub type BrokerHealth = Health<BrokerUnready>;

/// Is the broker usable for the ingestion topic? (cached for a second)
#[derive(Message)]
#[rtype(result = "BrokerHealth")]
pub struct CheckBroker;

/// The undelivered count when it cannot be had (the flush task failed, or the
/// actor is gone). Unknown is not zero: shutdown then warns instead of
/// claiming every record delivered.
pub const UNDELIVERED_UNKNOWN: usize = usize::MAX;

/// Wait until every enqueued record is delivered, at most `timeout`; answers
/// how many records were still undelivered.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Flush {
    pub timeout: Duration,
}

/// Fault drill: raise a librdkafka fatal error on the current producer, as a
/// fenced idempotent producer would (`rd_kafka_test_fatal_error`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct InjectFatalError;

/// From the delivery context: librdkafka reported an error on producer
/// `generation`. A fatal one comes with its underlying code (`ProducerFenced`,
/// say), not `Fatal`, so the actor asks the client whether it failed for good.
#[derive(Message)]
#[rtype(result = "()")]
struct ClientErrorReported {
    generation: u64,
}

/// From the delivery context: a batch whose records failed with their producer.
#[derive(Message)]
#[rtype(result = "()")]
struct Republish(Arc<BatchDelivery>);

type SharedProducer = Arc<ThreadedProducer<DeliveryContext>>;

/// A batch whose records are not all enqueued yet.
struct PendingBatch {
    delivery: Arc<BatchDelivery>,
    next: usize,
}

/// Why enqueuing stopped before the end of a batch.
enum Stall {
    QueueFull,
    ProducerFailed(String),
}

/// A failed producer being replaced.
struct Recovery {
    cause: String,
    /// The failed producer is gone and the unanswered batches are republished.
    rebuilt: bool,
    /// Batches reported held meanwhile, kept alive until they are republished.
    held: Vec<Arc<BatchDelivery>>,
}

pub struct KafkaProducer {
    settings: KafkaSettings,
    producer: SharedProducer,
    /// Counts producers; each one's delivery reports carry its number.
    generation: u64,
    topic: Arc<str>,
    /// Every batch not yet answered, in publish order (weak: an answered batch
    /// frees its records and its share of the budget at once).
    unanswered: VecDeque<Weak<BatchDelivery>>,
    sweep_at: usize,
    backlog: VecDeque<PendingBatch>,
    retry_scheduled: bool,
    recovery: Option<Recovery>,
    /// A rebuild waits for this timer (a replacement could not be created, or the last rebuild was too recent).
    rebuild_scheduled: bool,
    last_rebuild: Option<Instant>,
    topic_check: TopicCheck,
    rebuilds: IntCounter,
    topic_checks: IntCounter,
    /// Handed to each producer's context, which fills them from librdkafka's statistics.
    statistics: ProducerMetrics,
}

/// The current producer's last metadata check: one runs at a time, and its
/// answer serves every probe that waited for it and those of the next second.
/// A new producer starts a new one, so while recovering only its own answers count.
#[derive(Default)]
struct TopicCheck {
    generation: u64,
    answer: Arc<TtlCache<Health<TopicUnusable>>>,
}

impl KafkaProducer {
    /// Creates the producer and starts the actor that owns it.
    pub fn start(settings: &KafkaSettings, registry: &Registry) -> Result<Addr<Self>, StartError> {
        Self::start_with_mailbox(settings, registry, MAILBOX_CAPACITY)
    }

    /// [`KafkaProducer::start`] with a mailbox of `capacity` requests: tests
    /// fill a small one to show that a full mailbox changes no frame's order
    /// (sessions publish with `do_send`, which never waits for room; the
    /// bytes in flight bound what the mailbox holds).
    pub fn start_with_mailbox(settings: &KafkaSettings, registry: &Registry, capacity: usize) -> Result<Addr<Self>, StartError> {
        let rebuilds = IntCounter::new(
            "matyan_kafka_producer_rebuilds_total",
            "Kafka producers replaced after a fatal error (fenced, sequence lost)",
        )?;
        registry.register(Box::new(rebuilds.clone()))?;
        let topic_checks = IntCounter::new(
            "matyan_kafka_readiness_checks_total",
            "Topic metadata requests made for readiness; the probes that come while one runs, or in the second after, share its answer",
        )?;
        registry.register(Box::new(topic_checks.clone()))?;
        let statistics = ProducerMetrics::register(registry, &settings.topic)?;
        let mut ctx = Context::new();
        ctx.set_mailbox_capacity(capacity);
        let producer =
            Arc::new(settings.client_config().create_with_context(DeliveryContext::new(0, ctx.address(), statistics.clone()))?);
        Ok(ctx.run(Self {
            settings: settings.clone(),
            producer,
            generation: 0,
            topic: settings.topic.as_str().into(),
            unanswered: VecDeque::new(),
            sweep_at: MIN_SWEEP,
            backlog: VecDeque::new(),
            retry_scheduled: false,
            recovery: None,
            rebuild_scheduled: false,
            last_rebuild: None,
            topic_check: TopicCheck::default(),
            rebuilds,
            topic_checks,
            statistics,
        }))
    }

    /// Batches wait while the failed producer is being replaced.
    fn rebuilding(&self) -> bool {
        self.recovery.as_ref().is_some_and(|r| !r.rebuilt)
    }

    /// Enqueues what it can of a batch; nothing of one its receipt withdrew.
    fn enqueue(&self, batch: &mut PendingBatch) -> Result<(), Stall> {
        let delivery = &batch.delivery;
        let mut progress = delivery.progress.lock();
        if progress.withdrawn() {
            return Ok(());
        }
        while batch.next < delivery.frame.len() {
            let record = BaseRecord::with_opaque_to(&self.topic, Arc::clone(delivery))
                .key(delivery.key.as_bytes())
                .payload(delivery.frame.record(batch.next));
            match self.producer.send(record) {
                Ok(()) => {
                    batch.next += 1;
                    progress.handed_over(batch.next);
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => return Err(Stall::QueueFull),
                Err((error, _)) if delivery::producer_failed(&error) => return Err(Stall::ProducerFailed(error.to_string())),
                Err((error, _)) => {
                    // The frame fails: do not enqueue the rest of it.
                    for _ in batch.next..delivery.frame.len() {
                        delivery.settle(self.generation, Err(error.clone()));
                    }
                    batch.next = delivery.frame.len();
                }
            }
        }
        delivery.settle(self.generation, Ok(()));
        Ok(())
    }

    fn drain_backlog(&mut self, ctx: &mut Context<Self>) {
        // Frames answered `error` while they waited: they give back their share of the budget at once.
        self.backlog.retain(|batch| !batch.delivery.progress.is_withdrawn());
        if self.rebuilding() {
            return;
        }
        while let Some(mut batch) = self.backlog.pop_front() {
            if let Err(stall) = self.enqueue(&mut batch) {
                self.backlog.push_front(batch);
                match stall {
                    Stall::QueueFull => self.schedule_retry(ctx),
                    Stall::ProducerFailed(cause) => self.begin_recovery(cause, ctx),
                }
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

    /// Replaces the failed producer: a new one takes over at once (batches
    /// wait in the backlog meanwhile); the old one is purged off the actor's
    /// thread, so every record it held is reported before the unanswered
    /// batches are republished in order.
    fn begin_recovery(&mut self, cause: String, ctx: &mut Context<Self>) {
        if self.rebuilding() || self.rebuild_scheduled {
            return;
        }
        // A broker that fences every new producer at once gets one a second, not a storm.
        if let Some(wait) = self.last_rebuild.and_then(|last| REBUILD_RETRY.checked_sub(last.elapsed())) {
            return self.schedule_rebuild(cause, wait, ctx);
        }
        let generation = self.generation + 1;
        let replacement = match self.settings.client_config().create_with_context(DeliveryContext::new(
            generation,
            ctx.address(),
            self.statistics.clone(),
        )) {
            Ok(producer) => Arc::new(producer),
            Err(error) => {
                log::error!("cannot create a replacement Kafka producer ({error}); trying again in {REBUILD_RETRY:?}");
                return self.schedule_rebuild(cause, REBUILD_RETRY, ctx);
            }
        };
        log::error!("the Kafka producer failed for good ({cause}); replacing it and republishing every unanswered frame");
        self.rebuilds.inc();
        self.last_rebuild = Some(Instant::now());
        self.recovery = Some(Recovery { cause, rebuilt: false, held: Vec::new() });
        self.generation = generation;
        let failed = std::mem::replace(&mut self.producer, replacement);
        let drained = tokio::task::spawn_blocking(move || {
            failed.purge(PurgeConfig::default().queue().inflight());
            let _ = failed.flush(FAILED_PRODUCER_DRAIN);
        });
        ctx.spawn(drained.into_actor(self).map(|_, act, ctx| act.republish_unanswered(ctx)));
    }

    fn schedule_rebuild(&mut self, cause: String, wait: Duration, ctx: &mut Context<Self>) {
        self.rebuild_scheduled = true;
        ctx.run_later(wait, move |act, ctx| {
            act.rebuild_scheduled = false;
            act.begin_recovery(cause, ctx);
        });
    }

    /// Every batch not yet answered goes out again on the new producer, in publish order.
    fn republish_unanswered(&mut self, ctx: &mut Context<Self>) {
        let generation = self.generation;
        self.backlog = self
            .unanswered
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|batch| batch.is_unanswered() && (batch.generation() == generation || batch.restart(generation)))
            .map(|delivery| PendingBatch { delivery, next: 0 })
            .collect();
        log::info!("republishing {} unanswered frames on the new Kafka producer", self.backlog.len());
        if let Some(recovery) = self.recovery.as_mut() {
            recovery.rebuilt = true;
            recovery.held.clear();
        }
        self.drain_backlog(ctx);
    }

    /// Forgets answered batches: at the front of the publish order at once, and
    /// behind a long-lived one whenever the list has doubled since the last sweep.
    fn prune_answered(&mut self) {
        while self.unanswered.front().is_some_and(|batch| batch.strong_count() == 0) {
            self.unanswered.pop_front();
        }
        if self.unanswered.len() >= self.sweep_at {
            self.unanswered.retain(|batch| batch.strong_count() > 0);
            self.sweep_at = (2 * self.unanswered.len()).max(MIN_SWEEP);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the Kafka producer: {0}")]
    Kafka(#[from] KafkaError),
    #[error("cannot register the producer's metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

impl Actor for KafkaProducer {
    type Context = Context<Self>;
}

impl Handler<Publish> for KafkaProducer {
    type Result = ();

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) {
        self.prune_answered();
        let delivery = BatchDelivery::new(msg, self.generation);
        self.unanswered.push_back(Arc::downgrade(&delivery));
        self.backlog.push_back(PendingBatch { delivery, next: 0 });
        if self.backlog.len() == 1 {
            self.drain_backlog(ctx);
        }
    }
}

impl Handler<ClientErrorReported> for KafkaProducer {
    type Result = ();

    fn handle(&mut self, msg: ClientErrorReported, ctx: &mut Context<Self>) {
        if msg.generation != self.generation {
            return;
        }
        if let Some((_, cause)) = self.producer.client().fatal_error() {
            self.begin_recovery(cause, ctx);
        }
    }
}

impl Handler<Republish> for KafkaProducer {
    type Result = ();

    /// The producer failed without librdkafka calling it fatal (an idempotent
    /// producer fenced after a timeout keeps failing every record): replace it too.
    fn handle(&mut self, Republish(batch): Republish, ctx: &mut Context<Self>) {
        if !batch.is_unanswered() {
            return; // its session answered `error` at its deadline: nobody waits for it
        }
        if !self.rebuilding() {
            if batch.generation() != self.generation {
                return; // republished already, by the recovery that replaced its producer
            }
            // librdkafka's own account of a fatal error names the cause; a purge it did on the way does not.
            let fatal = self.producer.client().fatal_error().map(|(_, cause)| cause);
            self.begin_recovery(fatal.or_else(|| batch.failure()).unwrap_or_default(), ctx);
        }
        match self.recovery.as_mut() {
            // Kept alive until the recovery republishes every unanswered batch in order.
            Some(recovery) if !recovery.rebuilt => recovery.held.push(batch),
            // No replacement producer could be created yet: the batch waits for the next try.
            _ if batch.restart(self.generation) => self.backlog.push_back(PendingBatch { delivery: batch, next: 0 }),
            _ => {}
        }
    }
}

impl Handler<InjectFatalError> for KafkaProducer {
    type Result = ();

    fn handle(&mut self, _: InjectFatalError, _: &mut Context<Self>) {
        let reason = CString::new("fault drill").expect("no NUL");
        let code = rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_PRODUCER_FENCED;
        // SAFETY: the pointer is the live client this actor owns; the call only flags it failed.
        unsafe { rdkafka::bindings::rd_kafka_test_fatal_error(self.producer.client().native_ptr(), code, reason.as_ptr()) };
    }
}

impl Handler<CheckBroker> for KafkaProducer {
    type Result = ResponseActFuture<Self, BrokerHealth>;

    fn handle(&mut self, _: CheckBroker, ctx: &mut Context<Self>) -> Self::Result {
        // A producer that failed for good fails every frame, whatever the metadata says.
        if let Some((_, cause)) = self.producer.client().fatal_error() {
            // Its error report normally began the rebuild already. One raised while the previous
            // rebuild was draining was not acted on, and an unready gateway gets no frame that would.
            self.begin_recovery(cause.clone(), ctx);
            return Box::pin(fut::ready(recovering(cause, None)));
        }
        // Recovered once the new producer has an ack, or answers the check below.
        if self.recovery.as_ref().is_some_and(|r| r.rebuilt && self.producer.context().has_acked()) {
            self.recovery = None;
        }
        if let Some(recovery) = self.recovery.as_ref().filter(|r| !r.rebuilt) {
            return Box::pin(fut::ready(recovering(recovery.cause.clone(), None)));
        }
        if self.topic_check.generation != self.generation {
            self.topic_check = TopicCheck { generation: self.generation, answer: Arc::default() };
        }
        let answer = Arc::clone(&self.topic_check.answer);
        let (producer, topic, checks) = (Arc::clone(&self.producer), Arc::clone(&self.topic), self.topic_checks.clone());
        // The answer speaks for this producer only: a rebuild may begin while the check runs.
        let generation = self.generation;
        let check = tokio::task::spawn_blocking(move || {
            answer.get_or_refresh(|| {
                checks.inc();
                (Health::from(topic_metadata(&producer, &topic)), PROBE_TTL)
            })
        });
        Box::pin(check.into_actor(self).map(move |joined, act, _| {
            let health = joined.unwrap_or_else(|e| Health::Unready(TopicUnusable::CheckInterrupted(Arc::new(e))));
            match (&act.recovery, health) {
                (None, health) => health.map_reason(BrokerUnready::Unusable),
                (Some(recovery), Health::Ready) if recovery.rebuilt && generation == act.generation => {
                    act.recovery = None;
                    Health::Ready
                }
                (Some(recovery), Health::Ready) => recovering(recovery.cause.clone(), None),
                (Some(recovery), Health::Unready(reason)) => recovering(recovery.cause.clone(), Some(reason)),
            }
        }))
    }
}

fn recovering(cause: String, check: Option<TopicUnusable>) -> BrokerHealth {
    Health::Unready(BrokerUnready::Recovering { cause, check })
}

fn topic_metadata(producer: &SharedProducer, topic: &Arc<str>) -> Result<(), TopicUnusable> {
    let metadata = producer
        .client()
        .fetch_metadata(Some(&**topic), METADATA_TIMEOUT)
        .map_err(|error| TopicUnusable::BrokerUnreachable { error, last_client_error: producer.context().last_error() })?;
    let found = metadata.topics().iter().find(|t| t.name() == &**topic).ok_or_else(|| TopicUnusable::NotFound(Arc::clone(topic)))?;
    if let Some(error) = found.error() {
        return Err(TopicUnusable::Failed { topic: Arc::clone(topic), code: RDKafkaErrorCode::from(error) });
    }
    if found.partitions().is_empty() {
        return Err(TopicUnusable::NoPartitions(Arc::clone(topic)));
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
            let backlog: usize = act.backlog.iter().map(|b| b.delivery.frame.len() - b.next).sum();
            joined.unwrap_or(UNDELIVERED_UNKNOWN).saturating_add(backlog)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_texts_read_as_before() {
        let unreachable = TopicUnusable::BrokerUnreachable {
            error: KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut),
            last_client_error: Some("connection refused".into()),
        };
        let timed_out = KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut);
        assert_eq!(
            BrokerUnready::Unusable(unreachable).to_string(),
            format!("error: broker unreachable: {timed_out}; last client error: connection refused")
        );
        let recovering = |check| BrokerUnready::Recovering { cause: "fenced".into(), check }.to_string();
        assert_eq!(recovering(None), "recovering: fenced");
        assert_eq!(recovering(Some(TopicUnusable::NoPartitions("t".into()))), "recovering: fenced; topic 't' has no partitions");
    }
}
