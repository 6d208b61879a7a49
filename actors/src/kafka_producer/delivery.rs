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
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use tokio::sync::oneshot;

use super::{KafkaProducer, ProducerFailed, Republish};
use crate::backpressure::InflightPermit;
use crate::protocol::EncodedFrame;

pub type BatchOutcome = Result<(), KafkaError>;

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
    done: Mutex<Option<oneshot::Sender<BatchOutcome>>>,
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
    pub fn new(
        key: Arc<str>,
        frame: EncodedFrame,
        generation: u64,
        permit: InflightPermit,
    ) -> (Arc<Self>, oneshot::Receiver<BatchOutcome>) {
        let (tx, rx) = oneshot::channel();
        let remaining = AtomicUsize::new(frame.len() + 1);
        let delivery = Self {
            key,
            frame,
            generation: AtomicU64::new(generation),
            remaining,
            held: AtomicBool::new(false),
            republished: AtomicUsize::new(0),
            first_error: Mutex::new(None),
            done: Mutex::new(Some(tx)),
            _permit: permit,
        };
        (Arc::new(delivery), rx)
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
            self.answer(Err(error));
            return false;
        }
        self.held.store(false, Ordering::Release);
        lock(&self.first_error).take();
        self.remaining.store(self.frame.len() + 1, Ordering::Release);
        self.generation.store(generation, Ordering::Release);
        true
    }

    /// Reports one record (or, with `Ok`, the end of enqueuing) from producer `generation`.
    pub fn settle(&self, generation: u64, result: BatchOutcome) -> Settled {
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
        let outcome = lock(&self.first_error).take().map_or(Ok(()), Err);
        self.answer(outcome);
        Settled::Answered
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Routes librdkafka delivery reports to their batch, tells the producer
/// actor when its producer failed for good, and keeps the client's last
/// global error (a refused SASL login, say) for readiness to show.
pub struct DeliveryContext {
    generation: u64,
    actor: Addr<KafkaProducer>,
    last_error: Mutex<Option<String>>,
    acked: AtomicBool,
}

impl DeliveryContext {
    pub fn new(generation: u64, actor: Addr<KafkaProducer>) -> Self {
        Self { generation, actor, last_error: Mutex::default(), acked: AtomicBool::new(false) }
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
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::Fatal) => self.actor.do_send(ProducerFailed { generation: self.generation, cause: reason.to_owned() }),
            // "All brokers are down" follows the error that says why; keep that one.
            Some(RDKafkaErrorCode::AllBrokersDown) => {}
            _ => *lock(&self.last_error) = Some(reason.to_owned()),
        }
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Arc<BatchDelivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: Self::DeliveryOpaque) {
        if result.is_ok() && !self.acked.load(Ordering::Relaxed) {
            self.acked.store(true, Ordering::Release);
        }
        if batch.settle(self.generation, result.as_ref().map(|_| ()).map_err(|(error, _)| error.clone())) == Settled::Held {
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

    fn timed_out() -> KafkaError {
        KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)
    }

    #[test]
    fn answers_once_after_every_record_and_the_enqueue_guard() {
        let budget = InflightBudget::new(1000, &prometheus::Registry::new()).unwrap();
        let (batch, mut rx) = BatchDelivery::new("run".into(), frame(2), 0, budget.reserve(300));
        assert_eq!(batch.settle(0, Ok(())), Settled::Pending);
        assert_eq!(batch.settle(0, Err(timed_out())), Settled::Pending);
        assert!(rx.try_recv().is_err(), "still enqueuing");
        assert_eq!(batch.settle(0, Ok(())), Settled::Answered);
        assert_eq!(rx.try_recv().unwrap(), Err(timed_out()));
        assert_eq!(budget.bytes_in_flight(), 300, "held while librdkafka still holds the records");
        drop(batch);
        assert_eq!(budget.bytes_in_flight(), 0);
    }

    #[test]
    fn a_failed_producer_holds_the_batch_for_a_new_one() {
        let budget = InflightBudget::new(1000, &prometheus::Registry::new()).unwrap();
        let (batch, mut rx) = BatchDelivery::new("run".into(), frame(2), 0, budget.reserve(10));
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
        let (batch, mut rx) = BatchDelivery::new("run".into(), frame(1), 0, budget.reserve(10));
        for generation in 0..=MAX_REPUBLISH as u64 {
            batch.settle(generation, Ok(()));
            assert_eq!(batch.settle(generation, Err(KafkaError::MessageProduction(RDKafkaErrorCode::Fatal))), Settled::Held);
            assert_eq!(batch.restart(generation + 1), generation < MAX_REPUBLISH as u64);
        }
        assert_eq!(rx.try_recv().unwrap(), Err(KafkaError::MessageProduction(RDKafkaErrorCode::Fatal)));
    }
}
