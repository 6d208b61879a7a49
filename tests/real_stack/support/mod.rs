//! The real-stack tests' kit: a frontier process, a WebSocket client, HTTP
//! and metrics, a Kafka reader, an S3 reader, control of the brokers and
//! the stock Python client, all on 127.0.0.1. The services come from `scripts/local-stack.sh up`.

mod broker;
mod frontier;
mod http;
mod kafka;
mod s3;
mod stack;
mod stock_client;
mod websocket;

pub use broker::{DURABLE_BROKER, STALL_BROKER};
pub use frontier::*;
pub use http::*;
pub use kafka::*;
pub use s3::*;
pub use stack::*;
pub use stock_client::StockClient;
pub use websocket::*;
