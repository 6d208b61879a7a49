//! A producer and a blob store that answer as told, and remember what they were asked.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix::{Actor, Context, Handler, MessageResult};
use matyan_actors::kafka_producer::{BrokerUnready, CheckBroker, Flush, Publish, Published};
use matyan_actors::presign::{BlobStore, PresignError, UploadHeaders};
use matyan_actors::CheckResult;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// The key and record count of every publish, in order.
pub type PublishLog = Arc<Mutex<Vec<(String, usize)>>>;

/// A producer actor: every publish answered with `ack`, readiness with `broker`.
pub struct FakeProducer {
    pub ack: Result<(), KafkaError>,
    pub broker: Result<(), BrokerUnready>,
    pub published: PublishLog,
}

impl FakeProducer {
    /// Acks everything, and the broker is ready.
    pub fn acking() -> Self {
        Self { ack: Ok(()), broker: Ok(()), published: Arc::default() }
    }

    /// Every publish fails as a librdkafka delivery timeout does.
    pub fn timing_out() -> Self {
        Self { ack: Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)), ..Self::acking() }
    }

    /// The broker is unreachable.
    pub fn unreachable(reason: &str) -> Self {
        Self { broker: Err(BrokerUnready::Unreachable(reason.into())), ..Self::acking() }
    }
}

impl Actor for FakeProducer {
    type Context = Context<Self>;
}

impl Handler<Publish> for FakeProducer {
    type Result = MessageResult<Publish>;

    fn handle(&mut self, msg: Publish, _: &mut Context<Self>) -> Self::Result {
        self.published.lock().unwrap().push((msg.key.to_string(), msg.frame.len()));
        MessageResult(Published::answered(self.ack.clone()))
    }
}

impl Handler<CheckBroker> for FakeProducer {
    type Result = Result<(), BrokerUnready>;

    fn handle(&mut self, _: CheckBroker, _: &mut Context<Self>) -> Self::Result {
        self.broker.clone()
    }
}

impl Handler<Flush> for FakeProducer {
    type Result = usize;

    fn handle(&mut self, _: Flush, _: &mut Context<Self>) -> usize {
        0
    }
}

/// A blob store whose URLs point nowhere real; `status` answers its checks.
pub struct FakeStore {
    pub status: CheckResult,
}

impl FakeStore {
    pub const URL: &'static str = "https://store.invalid/bucket";

    pub fn healthy() -> Self {
        Self { status: Ok(()) }
    }
}

impl BlobStore for FakeStore {
    fn presign_put(&self, key: &str, content_type: &str, expiry: Duration, _: SystemTime) -> Result<(String, UploadHeaders), PresignError> {
        Ok((format!("{}/{key}?content-type={content_type}&expires={}", Self::URL, expiry.as_secs()), None))
    }

    fn ensure_bucket(&self) -> CheckResult {
        self.status.clone()
    }

    fn check(&self) -> CheckResult {
        self.status.clone()
    }
}
