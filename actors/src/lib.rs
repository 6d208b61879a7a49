//! The frontier's actors and the messages they exchange.
//!
//! - [`ws_session::WsSession`]: one per WebSocket connection; validates frames and
//!   forwards them to the producer.
//! - [`kafka_producer::KafkaProducer`]: the singleton owning the rdkafka producer.
//! - [`presign::PresignActor`]: owns the blob store client and signs upload URLs.

pub mod backpressure;
pub mod health;
pub mod ids;
pub mod kafka_producer;
pub mod presign;
pub mod protocol;
pub mod secret;
mod ttl_cache;
pub use health::Health;
pub mod connections;
pub mod metrics;
pub mod ws_reader;
pub mod ws_session;
