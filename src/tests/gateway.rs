//! A gateway on its own thread and actix system, as `main` runs one, so the
//! tests can use blocking clients; it shuts down in order when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;

use actix::Actor;
use serde_json::Value;
use tokio::sync::oneshot;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::WebSocket;

use super::fakes::{FakeProducer, FakeStore};
use crate::config::Settings;
use crate::{Backends, Gateway, ProducerPort};

pub struct TestGateway {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestGateway {
    /// The default settings overridden by `vars`, with these fakes behind it.
    pub fn start(vars: &[(&str, &str)], producer: FakeProducer, store: FakeStore) -> Self {
        let vars = [("SHUTDOWN_FLUSH_TIMEOUT", "1")].iter().chain(vars).map(|(k, v)| (k.to_string(), v.to_string()));
        let settings = Settings::from_vars(vars).expect("valid settings");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (started, is_started) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::spawn(move || {
            actix::System::new().block_on(async move {
                let backends = Backends { producer: ProducerPort::of(&producer.start()), blob_store: Arc::new(store) };
                let gateway = Gateway::start_with(settings, listener, prometheus::Registry::new(), backends).await.expect("gateway starts");
                started.send(gateway.local_addr()).unwrap();
                let _ = stopped.await;
                gateway.shutdown().await;
            })
        });
        let address = is_started.recv().expect("gateway started");
        Self { address, stop: Some(stop), thread: Some(thread) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// A request to `path`; every status is an answer, not an error.
    pub fn request(&self, method: &str, path: &str) -> http::request::Builder {
        http::Request::builder().method(method).uri(self.url(path))
    }

    /// Sends `request`: (status, headers, body).
    pub fn send(&self, request: http::Request<String>) -> (u16, http::HeaderMap, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut response = agent.run(request).expect("HTTP answer");
        let body = response.body_mut().read_to_string().unwrap();
        (response.status().as_u16(), response.headers().clone(), body)
    }

    /// GET `path`: (status, headers, body).
    pub fn get(&self, path: &str) -> (u16, http::HeaderMap, String) {
        self.send(self.request("GET", path).body(String::new()).unwrap())
    }

    /// The WebSocket of `run_id`, or the HTTP status that refused the upgrade.
    pub fn ws(&self, run_id: &str, bearer: Option<&str>) -> Result<WsClient, u16> {
        let mut request = tungstenite::ClientRequestBuilder::new(format!("ws://{}/api/v1/ws/runs/{run_id}", self.address).parse().unwrap());
        if let Some(token) = bearer {
            request = request.with_header("Authorization", format!("Bearer {token}"));
        }
        match tungstenite::connect(request) {
            Ok((socket, _)) => Ok(WsClient(socket)),
            Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("{other}"),
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        if let Some(thread) = self.thread.take() {
            // A panic on the gateway's thread fails the test, unless it is already failing.
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the gateway's thread panicked");
            }
        }
    }
}

pub struct WsClient(WebSocket<MaybeTlsStream<TcpStream>>);

impl WsClient {
    /// Sends a text frame and reads its answer.
    pub fn roundtrip(&mut self, text: &str) -> Value {
        self.0.send(tungstenite::Message::text(text)).expect("send frame");
        loop {
            match self.0.read().expect("read answer") {
                tungstenite::Message::Text(answer) => return serde_json::from_str(&answer).expect("answer is JSON"),
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
                other => panic!("expected a text answer, got {other:?}"),
            }
        }
    }
}
