//! A producer and a blob store that answer as told, and remember what they were asked.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix::{Actor, Context, Handler, MessageResult};
use matyan_actors::kafka_producer::{BrokerHealth, BrokerUnready, CheckBroker, Flush, Publish, TopicUnusable};
use matyan_actors::presign::{BlobStore, BucketCreation, BucketName, BucketStatus, PresignError, SignedPut, StoreError};
use matyan_actors::Health;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// The key and record count of every publish, in order.
pub type PublishLog = Arc<Mutex<Vec<(String, usize)>>>;

/// A producer actor: every publish answered with `ack`, readiness with `broker`.
pub struct FakeProducer {
    pub ack: Result<(), KafkaError>,
    pub broker: BrokerHealth,
    pub published: PublishLog,
}

impl FakeProducer {
    /// Acks everything, and the broker is ready.
    pub fn acking() -> Self {
        Self { ack: Ok(()), broker: Health::Ready, published: Arc::default() }
    }

    /// Every publish fails as a librdkafka delivery timeout does.
    pub fn timing_out() -> Self {
        Self { ack: Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)), ..Self::acking() }
    }

    /// The topic has no partitions.
    pub fn without_partitions(topic: &str) -> Self {
        Self { broker: Health::Unready(BrokerUnready::Unusable(TopicUnusable::NoPartitions(topic.into()))), ..Self::acking() }
    }
}

impl Actor for FakeProducer {
    type Context = Context<Self>;
}

impl Handler<Publish> for FakeProducer {
    type Result = ();

    fn handle(&mut self, msg: Publish, _: &mut Context<Self>) {
        self.published.lock().unwrap().push((msg.key.to_string(), msg.frame.len()));
        msg.answer(self.ack.clone());
    }
}

impl Handler<CheckBroker> for FakeProducer {
    type Result = MessageResult<CheckBroker>;

    fn handle(&mut self, _: CheckBroker, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.broker.clone())
    }
}

impl Handler<Flush> for FakeProducer {
    type Result = usize;

    fn handle(&mut self, _: Flush, _: &mut Context<Self>) -> usize {
        0
    }
}

/// A blob store whose URLs point nowhere real; its bucket lookup answers
/// `lookup_status` as HTTP would (200 there, 404 missing, else an error).
pub struct FakeStore {
    pub bucket: BucketName,
    pub lookup_status: u16,
}

impl FakeStore {
    pub const URL: &'static str = "https://store.invalid/bucket";

    pub fn healthy() -> Self {
        Self::answering(200)
    }

    pub fn answering(lookup_status: u16) -> Self {
        Self { bucket: BucketName::bucket("bucket", "HEAD"), lookup_status }
    }
}

impl BlobStore for FakeStore {
    fn presign_put(&self, key: &str, content_type: &str, expiry: Duration, _: SystemTime) -> Result<SignedPut, PresignError> {
        Ok(SignedPut { url: format!("{}/{key}?content-type={content_type}&expires={}", Self::URL, expiry.as_secs()), headers: None })
    }

    fn bucket(&self) -> &BucketName {
        &self.bucket
    }

    fn bucket_status(&self) -> Result<BucketStatus, StoreError> {
        self.bucket.lookup_answer(self.lookup_status)
    }

    fn create_bucket(&self) -> Result<BucketCreation, StoreError> {
        self.bucket.creation_answer(200, 200)
    }
}
