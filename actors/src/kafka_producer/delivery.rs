//! One completion per published batch: librdkafka's delivery callbacks count
//! down a shared counter, and the last one answers the waiting session.
//!
//! A batch keeps its records until it is answered, so that a producer that
//! failed for good can be replaced and the batch republished on the new one:
//! records that failed because the producer itself failed (fenced, purged)
//! hold the batch for republishing instead of answering `error`.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix::Addr;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use tokio::sync::oneshot;

use super::receipt::{BatchOutcome, EnqueueProgress, Publish, Undelivered};
use super::{ClientErrorReported, KafkaProducer, Republish};
use crate::backpressure::InflightPermit;
use crate::metrics::{BrokerTotals, ProducerMetrics};
use crate::protocol::EncodedFrame;

/// How often one batch is republished after its producer failed; past that,
/// its error is the answer (a broker that keeps refusing must not keep it forever).
const MAX_REPUBLISH: usize = 3;

/// The delivery state of one batch, shared by its records as their opaque.
pub struct BatchDelivery {
    pub key: Arc<str>,
    pub frame: EncodedFrame,
    /// The producer the batch was last enqueued on; reports from an older one are ignored.
    generation: AtomicU64,
    /// Records not yet reported, plus one while the batch is still being enqueued.
    remaining: AtomicUsize,
    /// A record failed because its producer failed: republish, do not answer.
    held: AtomicBool,
    republished: AtomicUsize,
    first_error: Mutex<Option<KafkaError>>,
    /// Some record was acked, or failed after it may have reached the broker.
    maybe_published: AtomicBool,
    done: Mutex<Option<oneshot::Sender<BatchOutcome>>>,
    /// How much of it librdkafka has had, and whether its receipt withdrew it.
    pub progress: Arc<EnqueueProgress>,
    /// Released with the batch, once it is answered and librdkafka holds none of its records.
    _permit: InflightPermit,
}

/// What the last report of a batch left to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    Pending,
    Answered,
    /// Every record is reported, some failed with their producer: republish it.
    Held,
}

impl BatchDelivery {
    pub fn new(publish: Publish, generation: u64) -> Arc<Self> {
        let Publish { key, frame, permit, answer, progress } = publish;
        Arc::new(Self {
            remaining: AtomicUsize::new(frame.len() + 1),
            key,
            frame,
            generation: AtomicU64::new(generation),
            held: AtomicBool::new(false),
            republished: AtomicUsize::new(0),
            first_error: Mutex::new(None),
            maybe_published: AtomicBool::new(false),
            done: Mutex::new(Some(answer)),
            progress,
            _permit: permit,
        })
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Still waiting for its answer (in flight, or held for republishing), and
    /// still awaited: a session that answered `error` at its deadline has let go.
    pub fn is_unanswered(&self) -> bool {
        lock(&self.done).as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// Why its records failed, if they did.
    pub fn failure(&self) -> Option<String> {
        lock(&self.first_error).as_ref().map(ToString::to_string)
    }

    /// Starts the batch over on producer `generation`; `false` once it was
    /// republished too often, when it is answered with its error instead.
    /// Only for a batch no live producer reports on any more.
    pub fn restart(&self, generation: u64) -> bool {
        if self.republished.fetch_add(1, Ordering::AcqRel) >= MAX_REPUBLISH {
            let error = lock(&self.first_error).take().unwrap_or(KafkaError::MessageProduction(RDKafkaErrorCode::Fatal));
            self.fail(error);
            return false;
        }
        self.held.store(false, Ordering::Release);
        lock(&self.first_error).take();
        self.remaining.store(self.frame.len() + 1, Ordering::Release);
        self.generation.store(generation, Ordering::Release);
        true
    }

    /// Reports one record (or, with `Ok`, the end of enqueuing) from producer `generation`.
    pub fn settle(&self, generation: u64, result: Result<(), KafkaError>) -> Settled {
        if generation != self.generation() {
            return Settled::Pending;
        }
        if let Err(error) = result {
            if producer_failed(&error) {
                self.held.store(true, Ordering::Release);
            }
            lock(&self.first_error).get_or_insert(error);
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
            return Settled::Pending;
        }
        if self.held.load(Ordering::Acquire) {
            return Settled::Held;
        }
        match lock(&self.first_error).take() {
            Some(error) => self.fail(error),
            None => self.answer(Ok(())),
        }
        Settled::Answered
    }

    /// Some of it is in Kafka, or may be: a failure's answer says so.
    pub fn may_be_published(&self) {
        self.maybe_published.store(true, Ordering::Release);
    }

    fn fail(&self, error: KafkaError) {
        self.answer(Err(Undelivered { error, maybe_published: self.maybe_published.load(Ordering::Acquire) }));
    }

    fn answer(&self, outcome: BatchOutcome) {
        if let Some(tx) = lock(&self.done).take() {
            let _ = tx.send(outcome);
        }
    }
}

/// Errors that say the producer, not the record, failed: a fatal error
/// (fenced, sequence lost) and the purge that replacing the producer does.
pub fn producer_failed(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(Fatal | PurgeQueue | PurgeInflight | ProducerFenced | InvalidProducerEpoch | OutOfOrderSequenceNumber | UnknownProducerId)
    )
}

/// librdkafka's word on a failed record: it may be in the topic when it was
/// sent before failing (a timeout while the broker held the request).
fn possibly_persisted(message: &rdkafka::message::BorrowedMessage<'_>) -> bool {
    use rdkafka::bindings::{rd_kafka_message_status, rd_kafka_msg_status_t};
    // SAFETY: the pointer is the live message of this delivery report; the call only reads its status.
    let status = unsafe { rd_kafka_message_status(message.ptr()) };
    status != rd_kafka_msg_status_t::RD_KAFKA_MSG_STATUS_NOT_PERSISTED
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Routes librdkafka delivery reports to their batch, tells the producer
/// actor when its producer failed for good, and keeps the client's last
/// global error (a refused SASL login, say) for readiness to show; exports
/// librdkafka's statistics as metrics.
pub struct DeliveryContext {
    generation: u64,
    actor: Addr<KafkaProducer>,
    last_error: Mutex<Option<String>>,
    acked: AtomicBool,
    metrics: ProducerMetrics,
    broker_totals: Mutex<BrokerTotals>,
}

impl DeliveryContext {
    pub fn new(generation: u64, actor: Addr<KafkaProducer>, metrics: ProducerMetrics) -> Self {
        let (last_error, acked, broker_totals) = (Mutex::default(), AtomicBool::new(false), Mutex::default());
        Self { generation, actor, last_error, acked, metrics, broker_totals }
    }

    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    /// Forgets the last error once the broker answers again, so an old one is not shown later.
    pub fn clear_last_error(&self) {
        lock(&self.last_error).take();
    }

    /// Has the broker acknowledged any record of this producer?
    pub fn has_acked(&self) -> bool {
        self.acked.load(Ordering::Acquire)
    }
}

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, reason: &str) {
        log::error!("librdkafka: {error}: {reason}");
        self.actor.do_send(ClientErrorReported { generation: self.generation });
        // "All brokers are down" follows the error that says why; keep that one.
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::AllBrokersDown) {
            *lock(&self.last_error) = Some(reason.to_owned());
        }
    }

    /// Every `statistics.interval.ms` (`KAFKA_STATISTICS_INTERVAL_MS`), on librdkafka's thread.
    fn stats(&self, statistics: Statistics) {
        self.metrics.observe(&statistics, &mut lock(&self.broker_totals));
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Arc<BatchDelivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: Self::DeliveryOpaque) {
        if result.is_ok() && !self.acked.load(Ordering::Relaxed) {
            self.acked.store(true, Ordering::Release);
        }
        let result = match result {
            Ok(_) => {
                batch.may_be_published();
                Ok(())
            }
            Err((error, message)) => {
                if possibly_persisted(message) {
                    batch.may_be_published();
                }
                Err(error.clone())
            }
        };
        if batch.settle(self.generation, result) == Settled::Held {
            self.actor.do_send(Republish(batch));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backpressure::InflightBudget;
    use crate::protocol::{FrameEncoder, FrameLimits};

    fn frame(messages: usize) -> EncodedFrame {
        let one = r#"{"type":"add_tag","tag_name":"t"}"#;
        let text = format!("[{}]", vec![one; messages].join(","));
        FrameEncoder::new("run", FrameLimits { max_record_bytes: 1000 }).encode(&text, chrono::Utc::now()).unwrap()
    }

    /// A batch of `messages` records on producer 0, and the receiver of its answer.
    fn new_batch(messages: usize, permit: InflightPermit) -> (Arc<BatchDelivery>, oneshot::Receiver<BatchOutcome>) {
        let (publish, receipt) = Publish::new("run".into(), frame(messages), permit);
        (BatchDelivery::new(publish, 0), receipt.outcome)
    }

    fn timed_out() -> KafkaError {
        KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)
    }

    #[test]
    fn answers_once_after_every_record_and_the_enqueue_guard() {
        let budget = InflightBudget::new(1000, &prometheus::Registry::new()).unwrap();
        let (batch, mut rx) = new_batch(2, budget.reserve(300));
        assert_eq!(batch.settle(0, Ok(())), Settled::Pending);
        assert_eq!(batch.settle(0, Err(timed_out())), Settled::Pending);
        assert!(rx.try_recv().is_err(), "still enqueuing");
        assert_eq!(batch.settle(0, Ok(())), Settled::Answered);
        assert_eq!(rx.try_recv().unwrap(), Err(Undelivered { error: timed_out(), maybe_published: false }));
        assert_eq!(budget.bytes_in_flight(), 300, "held while librdkafka still holds the records");
        drop(batch);
        assert_eq!(budget.bytes_in_flight(), 0);
    }

    #[test]
    fn a_failure_after_some_record_may_have_landed_says_so() {
        let budget = InflightBudget::new(1000, &prometheus::Registry::new()).unwrap();
        let (batch, mut rx) = new_batch(2, budget.reserve(10));
        batch.settle(0, Ok(()));
        batch.may_be_published();
        batch.settle(0, Ok(()));
        batch.settle(0, Err(timed_out()));
        let undelivered = rx.try_recv().unwrap().unwrap_err();
        assert_eq!(undelivered, Undelivered { error: timed_out(), maybe_published: true });
        assert!(undelivered.to_string().ends_with("; some of its records may be in Kafka all the same"), "{undelivered}");
    }

    #[test]
    fn a_failed_producer_holds_the_batch_for_a_new_one() {
        let budget = InflightBudget::new(1000, &prometheus::Registry::new()).unwrap();
        let (batch, mut rx) = new_batch(2, budget.reserve(10));
        batch.settle(0, Ok(()));
        batch.settle(0, Err(KafkaError::MessageProduction(RDKafkaErrorCode::ProducerFenced)));
        assert_eq!(batch.settle(0, Ok(())), Settled::Held, "not answered: republished instead");
        assert!(rx.try_recv().is_err() && batch.is_unanswered());

        assert!(batch.restart(1));
        assert_eq!(batch.settle(0, Ok(())), Settled::Pending, "a late report of the old producer is ignored");
        for _ in 0..3 {
            batch.settle(1, Ok(()));
        }
        assert_eq!(rx.try_recv().unwrap(), Ok(()), "answered by the new producer's acks");
        assert!(!batch.is_unanswered());
    }

    #[test]
    fn a_batch_republished_too_often_is_answered_with_its_error() {
        let budget = InflightBudget::new(1000, &prometheus::Registry::new()).unwrap();
        let (batch, mut rx) = new_batch(1, budget.reserve(10));
        for generation in 0..=MAX_REPUBLISH as u64 {
            batch.settle(generation, Ok(()));
            assert_eq!(batch.settle(generation, Err(KafkaError::MessageProduction(RDKafkaErrorCode::Fatal))), Settled::Held);
            assert_eq!(batch.restart(generation + 1), generation < MAX_REPUBLISH as u64);
        }
        let fatal = KafkaError::MessageProduction(RDKafkaErrorCode::Fatal);
        assert_eq!(rx.try_recv().unwrap(), Err(Undelivered { error: fatal, maybe_published: false }));
    }
}
