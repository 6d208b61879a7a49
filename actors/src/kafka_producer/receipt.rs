//! A publish request and its receipt, made together by the session.
//!
//! The session sends the [`Publish`] with `do_send`, so requests reach the
//! producer in frame order whatever its mailbox holds (`send` on a full
//! mailbox defers the request, and deferred requests can overtake each
//! other). The answer comes back on the [`Published`] receipt, straight from
//! the broker's acks.
//!
//! A receipt whose deadline passes withdraws its frame if none of its records
//! was handed to librdkafka yet (it waited in the producer's backlog behind a
//! full queue), so a frame answered `error` is not published later; when some
//! were, the error says so.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix::Message;
use rdkafka::error::KafkaError;
use tokio::sync::oneshot;

use crate::backpressure::InflightPermit;
use crate::protocol::EncodedFrame;

pub type BatchOutcome = Result<(), Undelivered>;

/// Why a frame was not published whole: its first record's error, and
/// whether some of it is in Kafka nonetheless (acked before another record
/// failed, or timed out after it was sent and possibly persisted).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}{}", if *maybe_published { "; some of its records may be in Kafka all the same" } else { "" })]
pub struct Undelivered {
    pub error: KafkaError,
    pub maybe_published: bool,
}

/// Publish one frame's records under one key (the run id); made by
/// [`Publish::new`] with the receipt its answer comes on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    pub key: Arc<str>,
    pub frame: EncodedFrame,
    /// The frame's share of the bytes in flight, held until its last record is answered for.
    pub permit: InflightPermit,
    pub(super) answer: oneshot::Sender<BatchOutcome>,
    pub(super) progress: Arc<EnqueueProgress>,
}

impl Publish {
    pub fn new(key: Arc<str>, frame: EncodedFrame, permit: InflightPermit) -> (Self, Published) {
        let (answer, outcome) = oneshot::channel();
        let progress = Arc::new(EnqueueProgress { records: frame.len(), state: Mutex::default() });
        let receipt = Published { outcome, progress: Arc::clone(&progress) };
        (Self { key, frame, permit, answer, progress }, receipt)
    }

    /// Answers at once, for producers that publish nowhere (the fakes of the in-process tests).
    pub fn answer(self, outcome: Result<(), KafkaError>) {
        let _ = self.answer.send(outcome.map_err(|error| Undelivered { error, maybe_published: false }));
    }
}

/// How far a frame got into librdkafka, shared by the producer and the receipt.
pub struct EnqueueProgress {
    records: usize,
    state: Mutex<Enqueued>,
}

#[derive(Default)]
pub struct Enqueued {
    /// Records handed to librdkafka, on any producer (the most over republishes).
    handed_over: usize,
    /// The receipt gave up before any record was handed over: none ever will be.
    withdrawn: bool,
}

impl EnqueueProgress {
    /// The producer holds this while it hands records over, so a withdrawal
    /// comes wholly before the first record or after it, never in between.
    pub(super) fn lock(&self) -> MutexGuard<'_, Enqueued> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn is_withdrawn(&self) -> bool {
        self.lock().withdrawn
    }

    /// Withdraws the frame unless some of it is in librdkafka already; answers how much is.
    fn withdraw(&self) -> Unacknowledged {
        let mut state = self.lock();
        match state.handed_over {
            0 => {
                state.withdrawn = true;
                Unacknowledged::Withdrawn
            }
            queued if queued < self.records => Unacknowledged::PartlyQueued { queued, records: self.records },
            _ => Unacknowledged::Queued,
        }
    }
}

impl Enqueued {
    pub(super) fn withdrawn(&self) -> bool {
        self.withdrawn
    }

    pub(super) fn handed_over(&mut self, records: usize) {
        self.handed_over = self.handed_over.max(records);
    }
}

/// What became of a frame not acknowledged in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unacknowledged {
    Withdrawn,
    PartlyQueued { queued: usize, records: usize },
    Queued,
}

impl std::fmt::Display for Unacknowledged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Withdrawn => f.write_str("none of its records left the gateway (the producer queue stayed full), and none will"),
            Self::PartlyQueued { queued, records } => write!(
                f,
                "{queued} of its {records} records were already queued for Kafka; the rest follow them, \
                 so the whole frame may still be published"
            ),
            Self::Queued => f.write_str("its records were queued for Kafka and may still be published"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PublishError {
    #[error("Kafka did not acknowledge the messages: {0}")]
    Kafka(#[from] Undelivered),
    #[error("Kafka did not acknowledge the messages within {:.1} s; {enqueued}", within.as_secs_f64())]
    Unacknowledged { within: Duration, enqueued: Unacknowledged },
    #[error("the producer is shutting down")]
    Stopped,
}

/// The pending outcome of a [`Publish`].
pub struct Published {
    pub(super) outcome: oneshot::Receiver<BatchOutcome>,
    progress: Arc<EnqueueProgress>,
}

impl Published {
    /// Resolves when every record is acknowledged, or names the first failure.
    pub async fn acked(self) -> Result<(), PublishError> {
        match self.outcome.await {
            Ok(outcome) => outcome.map_err(PublishError::from),
            Err(_) => Err(PublishError::Stopped),
        }
    }

    /// [`Published::acked`], but past `deadline` the frame is withdrawn if
    /// nothing of it reached librdkafka, and the error says how much did.
    pub async fn acked_within(self, deadline: Duration) -> Result<(), PublishError> {
        let progress = Arc::clone(&self.progress);
        tokio::time::timeout(deadline, self.acked())
            .await
            .unwrap_or_else(|_| Err(PublishError::Unacknowledged { within: deadline, enqueued: progress.withdraw() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backpressure::InflightBudget;
    use crate::protocol::{FrameEncoder, FrameLimits};

    fn publish(records: usize) -> (Publish, Published) {
        let one = r#"{"type":"add_tag","tag_name":"t"}"#;
        let text = format!("[{}]", vec![one; records].join(","));
        let frame = FrameEncoder::new("run", FrameLimits { max_record_bytes: 1000 }).encode(&text, chrono::Utc::now()).unwrap();
        let budget = InflightBudget::new(1000, &prometheus::Registry::new()).unwrap();
        Publish::new("run".into(), frame, budget.reserve(10))
    }

    #[tokio::test]
    async fn a_frame_nothing_of_which_was_queued_is_withdrawn_at_its_deadline() {
        let (publish, receipt) = publish(2);
        let error = receipt.acked_within(Duration::from_millis(100)).await.unwrap_err();
        assert_eq!(error, PublishError::Unacknowledged { within: Duration::from_millis(100), enqueued: Unacknowledged::Withdrawn });
        assert!(error.to_string().starts_with("Kafka did not acknowledge the messages within 0.1 s; none of its records"), "{error}");
        assert!(publish.progress.is_withdrawn(), "the producer skips it");
    }

    #[tokio::test]
    async fn a_frame_partly_queued_says_so_and_is_not_withdrawn() {
        let (publish, receipt) = publish(3);
        publish.progress.lock().handed_over(1);
        let error = receipt.acked_within(Duration::from_millis(100)).await.unwrap_err();
        assert_eq!(
            error,
            PublishError::Unacknowledged {
                within: Duration::from_millis(100),
                enqueued: Unacknowledged::PartlyQueued { queued: 1, records: 3 }
            }
        );
        assert!(error.to_string().contains("1 of its 3 records were already queued"), "{error}");
        assert!(!publish.progress.is_withdrawn(), "the rest goes out after the part already queued");
    }

    #[tokio::test]
    async fn an_answer_in_time_is_the_outcome() {
        let (publish, receipt) = publish(1);
        publish.answer(Ok(()));
        assert_eq!(receipt.acked_within(Duration::from_secs(1)).await, Ok(()));
    }
}
