//! `matyan-frontier`: the ingestion gateway between training clients and Kafka.
//!
//! [`Gateway::start`] serves on a bound listener; the binary (`main.rs`) reads
//! the configuration, binds, starts it and waits for a signal to shut it down.

mod auth;
pub mod config;
mod http_metrics;
pub mod logging;
mod request_id;
mod routes;
mod server;
#[cfg(test)]
mod tests;

pub use routes::ProducerPort;
pub use server::{listen, Backends, Gateway, ServerEnded, StartupError};
