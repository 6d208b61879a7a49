//! The process must not outlive its HTTP server: when the server ends on its
//! own, [`Gateway::run_until`] returns instead of waiting for a signal.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;

use super::fakes::{FakeProducer, FakeStore};
use crate::config::Settings;
use crate::{Backends, Gateway, ProducerPort};

#[test]
fn a_server_that_ends_on_its_own_ends_the_run() {
    let settings = Settings::from_vars([]).expect("the defaults are valid");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let outcome = actix::System::new().block_on(async move {
        let backends = Backends { producer: ProducerPort::of(&FakeProducer::acking().start()), blob_store: Arc::new(FakeStore::healthy()) };
        let gateway = Gateway::start_with(settings, listener, prometheus::Registry::new(), backends).await.expect("gateway starts");
        let server = gateway.server_handle();
        actix_web::rt::spawn(async move { server.stop(false).await });
        tokio::time::timeout(Duration::from_secs(10), gateway.run_until(std::future::pending())).await
    });
    let ended = outcome.expect("run_until returned, not waiting for a stop that never comes");
    assert!(ended.expect_err("the server's end is an error").to_string().starts_with("the HTTP server stopped on its own"));
}
