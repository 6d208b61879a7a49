//! The real-stack tests' kit: a frontier process, a WebSocket client, HTTP
//! and metrics, a Kafka reader, an S3 reader, control of the brokers and
//! the stock Python client, a fleet behind HAProxy, all on 127.0.0.1. The services come from `scripts/local-stack.sh up`.

mod broker;
mod fleet;
mod frontier;
mod http;
mod kafka;
mod s3;
mod stack;
mod stock_client;
mod websocket;

pub use broker::{CLUSTER_BROKER_A, DURABLE_BROKER, STALL_BROKER};
pub use fleet::*;
pub use frontier::*;
pub use http::*;
pub use kafka::*;
pub use s3::*;
pub use stack::*;
pub use stock_client::StockClient;
pub use websocket::*;
