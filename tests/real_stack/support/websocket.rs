//! A WebSocket client for one run, and raw frames for what it cannot send.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::WebSocket;

/// Longer than any answer deadline a test sets (the default is 40 s).
const ANSWER_PATIENCE: Duration = Duration::from_secs(60);

/// The handshake answer of a refused upgrade (its status and body).
pub type Refusal = tungstenite::http::Response<Option<Vec<u8>>>;

/// Opens `url` (optionally with a bearer token); reads time out after 20 s.
pub fn upgrade(url: &str, bearer: Option<&str>) -> Result<WsClient, Box<Refusal>> {
    let mut request = tungstenite::ClientRequestBuilder::new(url.parse().expect("a WebSocket URL"));
    if let Some(token) = bearer {
        request = request.with_header("Authorization", format!("Bearer {token}"));
    }
    match tungstenite::connect(request) {
        Ok((socket, _)) => {
            if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
                stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            }
            Ok(WsClient { socket })
        }
        Err(tungstenite::Error::Http(response)) => Err(response),
        Err(other) => panic!("WebSocket upgrade of {url}: {other}"),
    }
}

/// A fresh run id, so tests sharing a topic read back only their own records.
pub fn unique_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub struct WsClient {
    pub socket: WebSocket<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub fn send(&mut self, text: &str) {
        self.socket.send(tungstenite::Message::text(text)).expect("send frame");
    }

    /// The next text answer, parsed. Fails after [`ANSWER_PATIENCE`], even
    /// while the server's pings keep each read within its timeout.
    pub fn answer(&mut self) -> Value {
        let asked = Instant::now();
        loop {
            match self.socket.read().expect("read answer") {
                tungstenite::Message::Text(text) => return serde_json::from_str(&text).expect("answer is JSON"),
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => {
                    assert!(asked.elapsed() < ANSWER_PATIENCE, "no answer within {ANSWER_PATIENCE:?}, only pings")
                }
                other => panic!("expected a text answer, got {other:?}"),
            }
        }
    }

    pub fn roundtrip(&mut self, text: &str) -> Value {
        self.send(text);
        self.answer()
    }
}

pub fn ok_answer() -> Value {
    serde_json::json!({"status": "ok", "error": null})
}

/// A client text frame's bytes, masked with a zero key (so the payload reads as is),
/// for writing raw bytes to a WebSocket.
pub fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=65535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(payload);
    frame
}
