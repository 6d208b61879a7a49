//! One completion per published batch: librdkafka's delivery callbacks count
//! down a shared counter, and the last one answers the waiting session.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use tokio::sync::oneshot;

use crate::backpressure::InflightPermit;

pub type BatchOutcome = Result<(), KafkaError>;

/// The delivery state of one batch, shared by its records as their opaque.
pub struct BatchDelivery {
    /// Records not yet reported, plus one while the batch is still being enqueued.
    remaining: AtomicUsize,
    first_error: Mutex<Option<KafkaError>>,
    done: Mutex<Option<oneshot::Sender<BatchOutcome>>>,
    /// Released with the batch, once librdkafka has reported every record.
    _permit: InflightPermit,
}

impl BatchDelivery {
    pub fn new(records: usize, permit: InflightPermit) -> (Arc<Self>, oneshot::Receiver<BatchOutcome>) {
        let (tx, rx) = oneshot::channel();
        let delivery =
            Self { remaining: AtomicUsize::new(records + 1), first_error: Mutex::new(None), done: Mutex::new(Some(tx)), _permit: permit };
        (Arc::new(delivery), rx)
    }

    /// Reports one record (or, with `Ok`, the end of enqueuing).
    pub fn settle(&self, result: BatchOutcome) {
        if let Err(error) = result {
            self.first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(error);
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let outcome = match self.first_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
                Some(error) => Err(error),
                None => Ok(()),
            };
            if let Some(tx) = self.done.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = tx.send(outcome);
            }
        }
    }
}

/// Routes librdkafka delivery reports to their batch, and keeps the client's
/// last global error (a refused SASL login, say) for readiness to show.
#[derive(Default)]
pub struct DeliveryContext {
    last_error: Mutex<Option<String>>,
}

impl DeliveryContext {
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Forgets the last error once the broker answers again, so an old one is not shown later.
    pub fn clear_last_error(&self) {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, reason: &str) {
        log::error!("librdkafka: {error}: {reason}");
        // "All brokers are down" follows the error that says why; keep that one.
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::AllBrokersDown) {
            *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.to_owned());
        }
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Arc<BatchDelivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: Self::DeliveryOpaque) {
        batch.settle(result.as_ref().map(|_| ()).map_err(|(error, _)| error.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backpressure::InflightBudget;

    #[test]
    fn answers_once_after_every_record_and_the_enqueue_guard() {
        let budget = InflightBudget::new(1000, &prometheus::Registry::new()).unwrap();
        let (batch, mut rx) = BatchDelivery::new(2, budget.reserve(300));
        batch.settle(Ok(()));
        batch.settle(Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)));
        assert!(rx.try_recv().is_err(), "still enqueuing");
        batch.settle(Ok(()));
        assert_eq!(rx.try_recv().unwrap(), Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)));
        assert_eq!(budget.bytes_in_flight(), 300, "held while librdkafka still holds the records");
        drop(batch);
        assert_eq!(budget.bytes_in_flight(), 0);
    }
}
