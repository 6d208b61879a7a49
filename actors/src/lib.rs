//! The frontier's actors and the messages they exchange.
//!
//! - [`ws_session::WsSession`]: one per WebSocket connection; validates frames and
//!   forwards them to the producer.
//! - [`kafka_producer::KafkaProducer`]: the singleton owning the rdkafka producer.
//! - [`presign::PresignActor`]: owns the blob store client and signs upload URLs.

pub mod backpressure;
pub mod ids;
pub mod kafka_producer;
pub mod presign;
mod probe_cache;
pub mod protocol;
pub use probe_cache::CheckResult;
pub mod connections;
pub mod metrics;
pub mod ws_session;
