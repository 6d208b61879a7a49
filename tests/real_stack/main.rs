//! The tests that need the local stack (`scripts/local-stack.sh up`, or run
//! `scripts/test.sh`): the frontier binary against real Kafka-protocol brokers
//! and real blob servers. One binary, one module per area; `support/` is the kit.
//! The fast in-process tests are the library's (`cargo test --lib`).

mod support;

mod auth;
mod broker_outage;
mod broker_stall;
mod client_text;
mod close_drain;
mod downstream_contract;
mod faults;
mod fleet;
mod hostile_input;
mod http_probes;
mod kafka_sasl;
mod lifecycle;
mod observability;
mod openapi_docs;
mod presign_azure;
mod presign_gcs;
mod presign_s3;
mod publish_order;
mod real_client;
mod rebalancing;
mod record_limit;
mod shutdown;
mod tenant_boundary;
mod tls;
mod ws_ingest;
